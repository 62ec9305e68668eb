package activesync

import (
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/store"
)

func TestCategoriesAsKeywords(t *testing.T) {
	for _, c := range []string{"Red Team", "100% done", "$money", "Ünïcode", `a(b)"c"`, "plain"} {
		k := categoryKeyword(c)
		if !isCategoryKeyword(k) {
			t.Errorf("%q → %q is not a category keyword", c, k)
		}
		for _, b := range []byte(k) {
			if b <= ' ' || b >= 0x7f {
				t.Errorf("%q → %q holds %q", c, k, b)
			}
		}
		if back := keywordCategory(k); back != c {
			t.Errorf("%q → %q → %q", c, k, back)
		}
	}
	kw := withCategories([]string{"$Forwarded", "Old", "NonJunk"}, []string{"New One", "B"})
	if !slices.Equal(kw, []string{"$Forwarded", "B", "New%20One", "NonJunk"}) {
		t.Errorf("withCategories = %q", kw)
	}
	cats := categoriesNode(kw)
	if n := len(cats.All("Email:Category")); n != 2 {
		t.Errorf("%d categories in %s", n, cats)
	}
	if categoriesNode([]string{"$Junk"}) != nil {
		t.Error("IMAP keywords are not categories")
	}
}

func TestFlagAndChangeData(t *testing.T) {
	ad := emailChangeData(store.Item{Flags: store.FlagSeen | store.FlagFlagged})
	if ad.ChildText("Email:Read") != "1" || ad.Path("Flag", "Status").Text != "2" || !ad.Has("Email:Categories") {
		t.Errorf("change data %s", ad)
	}
	if f := flagNode(0); len(f.Children) != 0 {
		t.Errorf("cleared flag %s", f)
	}
	if got := threadTopic("RE: Fwd: AW: hello"); got != "hello" {
		t.Errorf("threadTopic = %q", got)
	}
}
