package armapi

import (
	"testing"

	"github.com/galleon-project/galleon"
)

func TestCheckBlobSource(t *testing.T) {
	const acct = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/"
	for _, tt := range []struct {
		name, uri, account string
		target             string // "" when valid
	}{
		{"OKHost", "https://myacct.blob.core.windows.net/vhds/os.vhd?sig=x", acct + "myacct", ""},
		{"OKPathStyle", "http://127.0.0.1:10000/devstoreaccount1/vhds/os.vhd", acct + "devstoreaccount1", ""},
		{"OKCase", "https://MyAcct.blob.core.windows.net/vhds/os.vhd", acct + "myacct", ""},
		{"ErrOtherAccount", "https://other.blob.core.windows.net/vhds/os.vhd", acct + "myacct", "s.uri"},
		{"ErrScheme", "ftp://myacct.blob.core.windows.net/vhds/os.vhd", acct + "myacct", "s.uri"},
		{"ErrNotURL", "::", acct + "myacct", "s.uri"},
		{"ErrNotAccount", "https://myacct.blob.core.windows.net/vhds/os.vhd",
			"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/myacct", "s.storageAccountId"},
		{"ErrEmptyAccount", "https://myacct.blob.core.windows.net/vhds/os.vhd", "", "s.storageAccountId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := checkBlobSource(tt.uri, tt.account, "s")
			if tt.target == "" {
				if err != nil {
					t.Fatalf("checkBlobSource() = %v", err)
				}
				return
			}
			e, ok := err.(*galleon.Error)
			if !ok || e.Code != galleon.CodeInvalidParameter || e.Target != tt.target {
				t.Fatalf("checkBlobSource() = %#v, want InvalidParameter at %s", err, tt.target)
			}
		})
	}
}
