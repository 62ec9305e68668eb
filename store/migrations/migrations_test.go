package migrations

import "testing"

func TestSQLiteMigrationsAreNumberedWithoutGaps(t *testing.T) {
	ms, err := For("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no sqlite migrations embedded")
	}
	for i, m := range ms {
		if m.Version != i+1 || m.SQL == "" {
			t.Errorf("migration %d: version %d, %d bytes", i, m.Version, len(m.SQL))
		}
	}
	if _, err := For("nosuchdialect"); err == nil {
		t.Error("unknown dialect accepted")
	}
}
