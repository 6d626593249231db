package graph

import (
	"reflect"
	"testing"

	"github.com/galleon-project/galleon"
)

func TestParseFilter(t *testing.T) {
	eq := func(f, v string) galleon.FilterClause {
		return galleon.FilterClause{Field: f, Op: galleon.FilterEq, Value: v}
	}
	for _, tt := range []struct {
		in   string
		want galleon.DirectoryFilter
	}{
		{"", nil},
		{"   ", nil},
		// az ad user list --upn / ad sp list --spn / group create.
		{"userPrincipalName eq 'alice@galleon.local'", galleon.DirectoryFilter{eq("userPrincipalName", "alice@galleon.local")}},
		{"UserPrincipalName EQ 'a'", galleon.DirectoryFilter{eq("userPrincipalName", "a")}},
		{"startswith(displayName,'Al')", galleon.DirectoryFilter{{Field: "displayName", Op: galleon.FilterStartsWith, Value: "Al"}}},
		{"startswith( displayName , 'Al' )", galleon.DirectoryFilter{{Field: "displayName", Op: galleon.FilterStartsWith, Value: "Al"}}},
		{"servicePrincipalNames/any(c:c eq 'abc')", galleon.DirectoryFilter{{Field: "servicePrincipalNames", Op: galleon.FilterAnyEq, Value: "abc"}}},
		{"displayName eq 'devs' and mailNickname eq 'devs'", galleon.DirectoryFilter{eq("displayName", "devs"), eq("mailNickname", "devs")}},
		{"mail eq 'o''brien@example.org'", galleon.DirectoryFilter{eq("mail", "o'brien@example.org")}},
		{"displayName eq 'a and b'", galleon.DirectoryFilter{eq("displayName", "a and b")}},
		{"appId eq ''", galleon.DirectoryFilter{eq("appId", "")}},
	} {
		got, err := ParseFilter(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFilter(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseFilter_Err(t *testing.T) {
	for _, in := range []string{
		"displayName ne 'x'",
		"displayName eq x",
		"displayName eq 'unterminated",
		"startswith(displayName 'x')",
		"displayName eq 'a' or mail eq 'b'",
		"displayName eq 'a' and",
		"tags/all(c:c eq 'x')",
		"servicePrincipalNames/any(c:d eq 'x')",
		"eq 'x'",
		"displayName eq 'a' garbage",
	} {
		if f, err := ParseFilter(in); err == nil {
			t.Errorf("ParseFilter(%q) = %v, want an error", in, f)
		} else if _, ok := err.(*FilterError); !ok {
			t.Errorf("ParseFilter(%q) error %T, want *FilterError", in, err)
		}
	}
}

func TestFilterRule_Check(t *testing.T) {
	for _, tt := range []struct {
		rule filterRule
		in   string
		ok   bool
	}{
		{userFilter, "userPrincipalName eq 'a' and startswith(displayName,'b')", true},
		{userFilter, "appId eq 'x'", false},
		{userFilter, "servicePrincipalNames/any(c:c eq 'x')", false},
		{groupFilter, "displayName eq 'x' and mailNickname eq 'y'", true},
		{groupFilter, "startswith(mailNickname,'x')", false},
		{servicePrincipalFilter, "servicePrincipalNames/any(c:c eq 'x')", true},
		{servicePrincipalFilter, "appId eq 'x'", true},
		{applicationFilter, "identifierUris/any(s:s eq 'api://x')", true},
		{applicationFilter, "userPrincipalName eq 'x'", false},
	} {
		f, err := ParseFilter(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if err := tt.rule.check(f); (err == nil) != tt.ok {
			t.Errorf("%s check(%q) = %v, want ok %v", tt.rule.resource, tt.in, err, tt.ok)
		}
	}
}
