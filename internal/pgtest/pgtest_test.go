package pgtest

import "testing"

func TestWithSearchPath(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u@h:5432/db?sslmode=disable":  "postgres://u@h:5432/db?search_path=s1&sslmode=disable",
		"postgresql:///db?host=/tmp/x&user=u":     "postgresql:///db?host=%2Ftmp%2Fx&search_path=s1&user=u",
		"host=h user=u dbname=db":                 "host=h user=u dbname=db search_path=s1",
		"postgres://u@h/db?search_path=other&x=1": "postgres://u@h/db?search_path=s1&x=1",
	} {
		if got := WithSearchPath(t, in, "s1"); got != want {
			t.Errorf("WithSearchPath(%q) = %q, want %q", in, got, want)
		}
	}
}
