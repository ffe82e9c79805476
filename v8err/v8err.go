// Package v8err owns the error vocabulary of the v8 API: the numeric codes v8
// put in {"error":{"code":N,"message":"…"}} bodies and the Error type that
// carries one from the package that detected a condition to the single place
// (package middleware) that renders it. It knows nothing of HTTP statuses.
package v8err

import "errors"

// Code is a v8 error code. Internal renders as JSON null, as v8 did for
// errors that were not Directus exceptions.
type Code int

// The v8 codes this server emits (api/src/core/Directus/Exception/*).
const (
	Internal         Code = 0
	NotFound         Code = 1
	Unauthorized     Code = 3
	InvalidRequest   Code = 4
	MethodNotAllowed Code = 6
	Unprocessable    Code = 12
	Maintenance      Code = 21
	ItemNotFound     Code = 203
	// ForbiddenUpdate is v8's ForbiddenCollectionUpdateException.
	ForbiddenUpdate Code = 302
)

// Conditions v8 had no code for. Like Internal they render as "code":null;
// they are distinct so that the renderer can send their own status.
const (
	// TooManyRequests: a client is refused for a while (admin brute-force
	// brake).
	TooManyRequests Code = -1
	// Unavailable: a dependency (the database) does not answer.
	Unavailable Code = -2
)

// Null reports whether c renders as JSON null.
func (c Code) Null() bool { return c <= Internal }

// Error is a failure with a public v8 code and message. Err, when set, is the
// internal cause: it is logged, never sent to the client.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// New returns an Error with the given code and public message.
func New(code Code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// Wrap returns an Error with the given code and public message whose internal
// cause is err.
func Wrap(code Code, message string, err error) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// Error returns the public message, followed by the cause when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// As returns the *Error in err's chain, or nil when there is none.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
