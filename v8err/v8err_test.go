package v8err

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	cause := errors.New("driver: connection refused")
	e := Wrap(Unavailable, "Database unavailable", cause)
	wrapped := fmt.Errorf("find file: %w", e)
	if got := As(wrapped); got != e {
		t.Errorf("As = %v, want the *Error in the chain", got)
	}
	if !errors.Is(wrapped, cause) || e.Error() != "Database unavailable: driver: connection refused" {
		t.Errorf("chain or text: %q", e.Error())
	}
	if As(cause) != nil || As(nil) != nil {
		t.Error("As found an *Error where there is none")
	}
	if New(NotFound, "Not Found").Error() != "Not Found" {
		t.Error("message without a cause")
	}
	for code, null := range map[Code]bool{Internal: true, TooManyRequests: true, Unavailable: true, NotFound: false, ItemNotFound: false, Unprocessable: false} {
		if code.Null() != null {
			t.Errorf("Code(%d).Null() = %v", code, code.Null())
		}
	}
}
