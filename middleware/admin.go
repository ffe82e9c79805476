package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/v8err"
)

// maxAdminBody bounds a PATCH body; the two fields fit in far less.
const maxAdminBody = 64 << 10

// errTooManyFailures answers a client over admin_auth_failures (status 429).
var errTooManyFailures = v8err.New(v8err.TooManyRequests, "Too many failed authentications. Try again later.")

var bearer = regexp.MustCompile(`(?i)^Bearer\s+(.*)$`)

// accessToken returns the static token of a request in v8's order: the
// access_token query parameter, then Authorization: Bearer (spec §7).
func accessToken(r *http.Request) string {
	if v, ok := ParseQuery(r.URL.RawQuery)["access_token"]; ok && !v.Array && v.Str != "" {
		return v.Str
	}
	if m := bearer.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}

// fileData is the "data" object the admin endpoints answer with.
type fileData struct {
	ID               int64   `json:"id"`
	PrivateHash      *string `json:"private_hash"`
	FilenameDownload string  `json:"filename_download"`
	FilenameDisk     string  `json:"filename_disk"`
	Type             *string `json:"type"`
}

// patchFile answers PATCH /<project>/files/<id>: the subset of v8's files
// endpoint that rotates a private_hash or renames a filename_download.
func (s *Server) patchFile(w http.ResponseWriter, r *http.Request) {
	s.adminWrite(w, r, func(p *Project, id int64, by hashes.Actor) (hashes.Record, []string, error) {
		change, fields, err := parseChange(r)
		if err != nil {
			return hashes.Record{}, nil, err
		}
		change.By = by
		rec, err := p.Files.Update(r.Context(), id, change)
		return rec, fields, err
	})
}

// rotateHash answers POST /<project>/files/<id>/rotate-hash with a new
// random hash (spec Q29).
func (s *Server) rotateHash(w http.ResponseWriter, r *http.Request) {
	s.adminWrite(w, r, func(p *Project, id int64, by hashes.Actor) (hashes.Record, []string, error) {
		rec, err := p.Files.Rotate(r.Context(), id, by)
		return rec, []string{"private_hash"}, err
	})
}

// adminWrite authenticates an administrator, runs write on the file named
// by the URL as that user's (for v8's activity rows), logs it (never the
// hash itself) and answers with the row.
func (s *Server) adminWrite(w http.ResponseWriter, r *http.Request, write func(*Project, int64, hashes.Actor) (hashes.Record, []string, error)) {
	p := projectOf(r)
	client := clientAddr(r, s.trustedProxies)
	if wait := s.authFailures.blocked(client, time.Now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.writeError(w, r, errTooManyFailures)
		return
	}
	user, err := p.Files.Admin(r.Context(), accessToken(r))
	if errors.Is(err, hashes.ErrUnauthorized) {
		s.authFailures.fail(client, time.Now())
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	raw := mux.Vars(r)["id"]
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != raw {
		// Only the canonical spelling names a file: "+1" and "01" do not.
		s.writeError(w, r, hashes.ErrNotFound)
		return
	}
	by := hashes.Actor{User: user.ID, UserAgent: r.UserAgent()}
	if client.IsValid() {
		by.IP = hashes.ActivityIP(client.Unmap().String())
	}
	rec, fields, err := write(p, id, by)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "file updated", "project", p.Name, "file_id", rec.ID, "user_id", user.ID, "fields", fields)
	data := fileData{ID: rec.ID, FilenameDownload: rec.FilenameDownload, FilenameDisk: rec.FilenameDisk}
	if rec.PrivateHash.Valid {
		data.PrivateHash = &rec.PrivateHash.String
	}
	if rec.Type.Valid {
		data.Type = &rec.Type.String
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Data fileData `json:"data"`
	}{data}) // cannot fail: strings and integers
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// parseChange reads a PATCH body: a JSON object with private_hash and/or
// filename_download as strings. It returns the validated change and the
// names of the fields it sets; anything else is a 422 code 4.
func parseChange(r *http.Request) (hashes.Change, []string, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBody+1))
	if err != nil {
		return hashes.Change{}, nil, err
	}
	if len(body) > maxAdminBody {
		return hashes.Change{}, nil, v8err.New(v8err.InvalidRequest, "Request body is too large.")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return hashes.Change{}, nil, v8err.New(v8err.InvalidRequest, "Request body must be a JSON object.")
	}
	var unknown, set []string
	var change hashes.Change
	for name, raw := range fields {
		var target **string
		switch name {
		case "private_hash":
			target = &change.PrivateHash
		case "filename_download":
			target = &change.FilenameDownload
		default:
			unknown = append(unknown, name)
			continue
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || bytes.Equal(raw, []byte("null")) {
			return hashes.Change{}, nil, v8err.New(v8err.InvalidRequest, name+" must be a string.")
		}
		if !utf8.Valid(raw) {
			// encoding/json would quietly turn the bad bytes into U+FFFD.
			return hashes.Change{}, nil, v8err.New(v8err.InvalidRequest, name+" must be valid UTF-8.")
		}
		*target = &v
		set = append(set, name)
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return hashes.Change{}, nil, v8err.New(v8err.InvalidRequest,
			"These fields cannot be changed here: "+strings.Join(unknown, ", ")+". Only private_hash and filename_download can.")
	}
	slices.Sort(set)
	return change, set, change.Validate()
}
