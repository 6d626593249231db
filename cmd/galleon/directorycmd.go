package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/galleon-project/galleon/identity"
)

// The directory commands: galleon user, group, sp and invite. Each talks
// to the running server's Graph API (/v1.0) over HTTPS as the service
// principal of <data>/credentials.json, which must be a directory
// administrator (the bootstrap one is).

// directoryCommand wires a connection's flags into a command whose run
// gets a Graph client.
func directoryCommand(cmd *cobra.Command, run func(ctx context.Context, g *graphClient, out io.Writer, args []string) error) *cobra.Command {
	var conn connection
	conn.addFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := bindEnv(cmd.Flags()); err != nil {
			return err
		}
		g, err := conn.graph()
		if err != nil {
			return err
		}
		return run(cmd.Context(), g, cmd.OutOrStdout(), args)
	}
	return cmd
}

func table(out io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// readPassword is --password, else the first line of --password-file
// ("-" for stdin), else a new random password that is printed once.
func readPassword(flag, file string) (password string, generated bool, err error) {
	switch {
	case flag != "":
		return flag, false, nil
	case file == "-":
		data, err := io.ReadAll(io.LimitReader(os.Stdin, 4096))
		return strings.TrimRight(string(data), "\r\n"), false, err
	case file != "":
		data, err := os.ReadFile(file)
		return strings.TrimRight(string(data), "\r\n"), false, err
	}
	p, err := identity.NewPassword()
	return p, true, err
}

func newUserCommand() *cobra.Command {
	user := &cobra.Command{Use: "user", Short: "Manage directory users (through the server's Graph API)"}

	var name, password, passwordFile string
	create := directoryCommand(&cobra.Command{
		Use:   "create USER@DOMAIN",
		Short: "Create a member user; without --password a random one is printed once",
		Args:  cobra.ExactArgs(1),
	}, func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
		upn := args[0]
		pw, generated, err := readPassword(password, passwordFile)
		if err != nil {
			return err
		}
		display := name
		if display == "" {
			display, _, _ = strings.Cut(upn, "@")
		}
		nick, _, _ := strings.Cut(upn, "@")
		var u map[string]any
		if err := g.do(ctx, http.MethodPost, "/users", map[string]any{
			"accountEnabled": true, "displayName": display, "mailNickname": nick, "userPrincipalName": upn,
			"passwordProfile": map[string]any{"password": pw, "forceChangePasswordNextSignIn": false},
		}, &u); err != nil {
			return err
		}
		fmt.Fprintf(out, "created user %s, object id %s\n", str(u["userPrincipalName"]), str(u["id"]))
		if generated {
			fmt.Fprintf(out, "password: %s\n", pw)
		}
		return nil
	})
	create.Flags().StringVar(&name, "display-name", "", "display name (default: the part before @)")
	create.Flags().StringVar(&password, "password", "", "password (visible in the process list; prefer --password-file)")
	create.Flags().StringVar(&passwordFile, "password-file", "", "file whose first line is the password; - for stdin")

	var filter string
	list := directoryCommand(&cobra.Command{Use: "list", Short: "List users", Args: cobra.NoArgs},
		func(ctx context.Context, g *graphClient, out io.Writer, _ []string) error {
			path := "/users"
			if filter != "" {
				path = filterPath("users", filter)
			}
			users, err := g.list(ctx, path)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, u := range users {
				state := str(u["externalUserState"])
				if u["accountEnabled"] == false {
					state = strings.TrimSpace(state + " disabled")
				}
				rows = append(rows, []string{str(u["userPrincipalName"]), str(u["displayName"]), str(u["userType"]), state, str(u["id"])})
			}
			return table(out, "PRINCIPAL NAME\tDISPLAY NAME\tTYPE\tSTATE\tOBJECT ID", rows)
		})
	list.Flags().StringVar(&filter, "filter", "", "an OData $filter, e.g. \"startswith(displayName,'al')\"")

	del := directoryCommand(&cobra.Command{Use: "delete USER", Short: "Delete a user (by principal name or object id)", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
			if err := g.do(ctx, http.MethodDelete, "/users/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(out, "deleted user %s\n", args[0])
			return nil
		})

	var setPassword, setPasswordFile string
	setPw := directoryCommand(&cobra.Command{
		Use:   "set-password USER",
		Short: "Set a user's password; without --password a random one is printed once",
		Args:  cobra.ExactArgs(1),
	}, func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
		pw, generated, err := readPassword(setPassword, setPasswordFile)
		if err != nil {
			return err
		}
		if err := g.do(ctx, http.MethodPatch, "/users/"+url.PathEscape(args[0]), map[string]any{
			"passwordProfile": map[string]any{"password": pw, "forceChangePasswordNextSignIn": false}}, nil); err != nil {
			return err
		}
		fmt.Fprintf(out, "password of %s set\n", args[0])
		if generated {
			fmt.Fprintf(out, "password: %s\n", pw)
		}
		return nil
	})
	setPw.Flags().StringVar(&setPassword, "password", "", "the new password (visible in the process list; prefer --password-file)")
	setPw.Flags().StringVar(&setPasswordFile, "password-file", "", "file whose first line is the password; - for stdin")

	user.AddCommand(create, list, del, setPw)
	return user
}

var nicknameUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func newGroupCommand() *cobra.Command {
	group := &cobra.Command{Use: "group", Short: "Manage security groups and their members"}

	var description string
	create := directoryCommand(&cobra.Command{Use: "create NAME", Short: "Create a security group", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
			nick := nicknameUnsafe.ReplaceAllString(args[0], "-")
			body := map[string]any{"displayName": args[0], "mailNickname": nick, "mailEnabled": false, "securityEnabled": true}
			if description != "" {
				body["description"] = description
			}
			var grp map[string]any
			if err := g.do(ctx, http.MethodPost, "/groups", body, &grp); err != nil {
				return err
			}
			fmt.Fprintf(out, "created group %s, object id %s\n", str(grp["displayName"]), str(grp["id"]))
			return nil
		})
	create.Flags().StringVar(&description, "description", "", "description")

	list := directoryCommand(&cobra.Command{Use: "list", Short: "List groups", Args: cobra.NoArgs},
		func(ctx context.Context, g *graphClient, out io.Writer, _ []string) error {
			groups, err := g.list(ctx, "/groups")
			if err != nil {
				return err
			}
			var rows [][]string
			for _, grp := range groups {
				rows = append(rows, []string{str(grp["displayName"]), str(grp["description"]), str(grp["id"])})
			}
			return table(out, "NAME\tDESCRIPTION\tOBJECT ID", rows)
		})

	members := directoryCommand(&cobra.Command{Use: "members GROUP", Short: "List a group's direct members", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
			id, err := g.resolveGroup(ctx, args[0])
			if err != nil {
				return err
			}
			ms, err := g.list(ctx, "/groups/"+id+"/members")
			if err != nil {
				return err
			}
			var rows [][]string
			for _, m := range ms {
				name := str(m["userPrincipalName"])
				if name == "" {
					name = str(m["displayName"])
				}
				rows = append(rows, []string{strings.TrimPrefix(str(m["@odata.type"]), "#microsoft.graph."), name, str(m["id"])})
			}
			return table(out, "TYPE\tNAME\tOBJECT ID", rows)
		})

	memberChange := func(use, short string, add bool) *cobra.Command {
		return directoryCommand(&cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(2)},
			func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
				gid, err := g.resolveGroup(ctx, args[0])
				if err != nil {
					return err
				}
				mid, err := g.resolveMember(ctx, args[1])
				if err != nil {
					return err
				}
				if add {
					err = g.do(ctx, http.MethodPost, "/groups/"+gid+"/members/$ref",
						map[string]string{"@odata.id": g.base + "/v1.0/directoryObjects/" + mid}, nil)
				} else {
					err = g.do(ctx, http.MethodDelete, "/groups/"+gid+"/members/"+url.PathEscape(mid)+"/$ref", nil, nil)
				}
				if err != nil {
					return err
				}
				verb := "added %s to %s\n"
				if !add {
					verb = "removed %s from %s\n"
				}
				fmt.Fprintf(out, verb, args[1], args[0])
				return nil
			})
	}
	del := directoryCommand(&cobra.Command{Use: "delete GROUP", Short: "Delete a group (by name or object id)", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
			id, err := g.resolveGroup(ctx, args[0])
			if err != nil {
				return err
			}
			if err := g.do(ctx, http.MethodDelete, "/groups/"+id, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(out, "deleted group %s\n", args[0])
			return nil
		})
	group.AddCommand(create, list, members,
		memberChange("add-member GROUP MEMBER", "Add a user (name@domain), service principal (app id), group (name) or object id to a group", true),
		memberChange("remove-member GROUP MEMBER", "Remove a direct member from a group", false),
		del)
	return group
}

func addSecret(ctx context.Context, g *graphClient, path, name string, years int) (map[string]any, error) {
	if years < 1 || years > 100 {
		return nil, fmt.Errorf("--years must be 1 to 100")
	}
	now := time.Now().UTC()
	var cred map[string]any
	err := g.do(ctx, http.MethodPost, path, map[string]any{"passwordCredential": map[string]any{
		"displayName": name, "startDateTime": now.Format(time.RFC3339), "endDateTime": now.AddDate(years, 0, 0).Format(time.RFC3339)}}, &cred)
	return cred, err
}

func newSPCommand() *cobra.Command {
	sp := &cobra.Command{Use: "sp", Short: "Manage applications' service principals and their secrets"}

	var years int
	create := directoryCommand(&cobra.Command{
		Use:   "create NAME",
		Short: "Register an application with a service principal and a secret, printed once",
		Args:  cobra.ExactArgs(1),
	}, func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
		var app, spn map[string]any
		if err := g.do(ctx, http.MethodPost, "/applications", map[string]any{"displayName": args[0]}, &app); err != nil {
			return err
		}
		if err := g.do(ctx, http.MethodPost, "/servicePrincipals", map[string]any{"appId": app["appId"], "accountEnabled": true}, &spn); err != nil {
			return err
		}
		cred, err := addSecret(ctx, g, "/applications/"+str(app["id"])+"/addPassword", "galleon sp create", years)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "created service principal %s\n  client id (appId): %s\n  object id:         %s\n  secret:            %s\n  expires:           %s\n",
			args[0], str(app["appId"]), str(spn["id"]), str(cred["secretText"]), str(cred["endDateTime"]))
		fmt.Fprintln(out, "The secret is shown only now. Give the service principal a role to let it act on resources.")
		return nil
	})
	create.Flags().IntVar(&years, "years", 1, "years the secret stays valid")

	list := directoryCommand(&cobra.Command{Use: "list", Short: "List service principals", Args: cobra.NoArgs},
		func(ctx context.Context, g *graphClient, out io.Writer, _ []string) error {
			sps, err := g.list(ctx, "/servicePrincipals")
			if err != nil {
				return err
			}
			var rows [][]string
			for _, s := range sps {
				rows = append(rows, []string{str(s["displayName"]), str(s["appId"]), str(s["id"])})
			}
			return table(out, "NAME\tAPP ID\tOBJECT ID", rows)
		})

	var secretYears int
	var secretName string
	addSecretCmd := directoryCommand(&cobra.Command{
		Use:   "add-secret SP",
		Short: "Add a secret to a service principal (by app id or object id), printed once",
		Args:  cobra.ExactArgs(1),
	}, func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
		id, err := g.resolveServicePrincipal(ctx, args[0])
		if err != nil {
			return err
		}
		cred, err := addSecret(ctx, g, "/servicePrincipals/"+url.PathEscape(id)+"/addPassword", secretName, secretYears)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "secret: %s\nkey id: %s\nexpires: %s\nThe secret is shown only now.\n", str(cred["secretText"]), str(cred["keyId"]), str(cred["endDateTime"]))
		return nil
	})
	addSecretCmd.Flags().IntVar(&secretYears, "years", 1, "years the secret stays valid")
	addSecretCmd.Flags().StringVar(&secretName, "name", "galleon sp add-secret", "a name for the secret")

	sp.AddCommand(create, list, addSecretCmd)
	return sp
}

func printInvitation(out io.Writer, inv map[string]any, link bool) {
	fmt.Fprintf(out, "invitation %s for %s: %s\n", str(inv["id"]), str(inv["invitedUserEmailAddress"]), str(inv["status"]))
	if u, ok := inv["invitedUser"].(map[string]any); ok {
		fmt.Fprintf(out, "  guest: %s %s\n", str(u["id"]), str(u["userPrincipalName"]))
	}
	if r := str(inv["galleonResourceId"]); r != "" {
		fmt.Fprintf(out, "  to: %s\n", r)
	}
	if e := str(inv["galleonExpiresDateTime"]); e != "" {
		fmt.Fprintf(out, "  link valid until: %s\n", e)
	}
	if m := str(inv["galleonMessageStatus"]); m != "" {
		fmt.Fprintf(out, "  e-mail: %s\n", m)
	}
	if link && str(inv["inviteRedeemUrl"]) != "" {
		fmt.Fprintf(out, "  link: %s\n", str(inv["inviteRedeemUrl"]))
	}
}

func newInviteCommand() *cobra.Command {
	var resource, message, redirect, name string
	var noMail, printLink bool
	invite := directoryCommand(&cobra.Command{
		Use:   "invite EMAIL | list | resend ID | revoke ID",
		Short: "Invite someone from outside the directory as a guest, by e-mail",
		Long: `invite EMAIL creates a guest user for the address and e-mails an invitation
naming the inviter and, with --resource, the gallery (or other resource) it is
for. The link in it lets the guest choose a password once, until it expires
(serve's --invitation-lifetime, 7 days by default). Without an SMTP server
(serve's --smtp-host) the message is written to <data>/outbox.

Give the guest a role, e.g. Reader on the gallery, to let it see anything.`,
		Args: cobra.ExactArgs(1),
	}, func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
		body := map[string]any{"invitedUserEmailAddress": args[0], "sendInvitationMessage": !noMail}
		if resource != "" {
			body["galleonResourceId"] = resource
		}
		if message != "" {
			body["invitedUserMessageInfo"] = map[string]any{"customizedMessageBody": message}
		}
		if redirect != "" {
			body["inviteRedirectUrl"] = redirect
		}
		if name != "" {
			body["invitedUserDisplayName"] = name
		}
		var inv map[string]any
		if err := g.do(ctx, http.MethodPost, "/invitations", body, &inv); err != nil {
			return err
		}
		printInvitation(out, inv, printLink || noMail)
		if strings.HasPrefix(str(inv["galleonMessageStatus"]), "Failed") {
			return fmt.Errorf("the invitation was created but its e-mail could not be sent; fix the SMTP settings and run: galleon invite resend %s", str(inv["id"]))
		}
		return nil
	})
	f := invite.Flags()
	f.StringVar(&resource, "resource", "", "resource id the guest is invited to, e.g. a gallery's; the e-mail names it")
	f.StringVar(&message, "message", "", "a note from you, quoted in the e-mail")
	f.StringVar(&redirect, "redirect-url", "", "where the guest goes after accepting (default: the server)")
	f.StringVar(&name, "display-name", "", "the guest's display name (default: the address)")
	f.BoolVar(&noMail, "no-mail", false, "send no e-mail; print the link to pass on yourself")
	f.BoolVar(&printLink, "print-link", false, "print the invitation link too")

	list := directoryCommand(&cobra.Command{Use: "list", Short: "List invitations, newest first", Args: cobra.NoArgs},
		func(ctx context.Context, g *graphClient, out io.Writer, _ []string) error {
			invs, err := g.list(ctx, "/invitations")
			if err != nil {
				return err
			}
			var rows [][]string
			for _, inv := range invs {
				rows = append(rows, []string{str(inv["id"]), str(inv["invitedUserEmailAddress"]), str(inv["status"]),
					str(inv["galleonExpiresDateTime"]), str(inv["galleonResourceId"])})
			}
			return table(out, "ID\tEMAIL\tSTATUS\tLINK VALID UNTIL\tRESOURCE", rows)
		})
	var resendPrint bool
	resend := directoryCommand(&cobra.Command{Use: "resend ID", Short: "Send a pending invitation again with a new link; the old link stops working", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
			var inv map[string]any
			if err := g.do(ctx, http.MethodPost, "/invitations/"+url.PathEscape(args[0])+"/resend", map[string]any{}, &inv); err != nil {
				return err
			}
			printInvitation(out, inv, resendPrint)
			return nil
		})
	resend.Flags().BoolVar(&resendPrint, "print-link", false, "print the new link too")
	revoke := directoryCommand(&cobra.Command{Use: "revoke ID", Short: "Revoke an invitation: its link stops working, and a guest who redeemed it is disabled", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, g *graphClient, out io.Writer, args []string) error {
			var inv map[string]any
			if err := g.do(ctx, http.MethodPost, "/invitations/"+url.PathEscape(args[0])+"/revoke", map[string]any{}, &inv); err != nil {
				return err
			}
			printInvitation(out, inv, false)
			return nil
		})
	invite.AddCommand(list, resend, revoke)
	return invite
}
