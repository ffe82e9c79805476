package middleware_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
)

type fileData struct {
	ID               int64   `json:"id"`
	PrivateHash      *string `json:"private_hash"`
	FilenameDownload string  `json:"filename_download"`
	FilenameDisk     string  `json:"filename_disk"`
	Type             *string `json:"type"`
}

func wantData(t *testing.T, res *http.Response, body []byte) fileData {
	t.Helper()
	if res.StatusCode != 200 {
		t.Fatalf("status %d body %s", res.StatusCode, body)
	}
	var got struct{ Data fileData }
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return got.Data
}

const adminAuth = "Bearer " + fixture.AdminToken

// Spec §12 case 43, both token forms: the old hash answers 404 on the very
// next request, the new one serves the same original.
func TestPatchRotatesHash(t *testing.T) {
	for name, auth := range map[string][2]string{
		"bearer":       {"", adminAuth},
		"access_token": {"?access_token=" + fixture.AdminToken, ""},
		"scheme case":  {"", "bearer  " + fixture.AdminToken},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			res, body := e.send(t, "PATCH", "/thumper/files/1"+auth[0], `{"private_hash":"rot4t3dh4sh00001"}`, "Authorization", auth[1], "Content-Type", "application/json")
			d := wantData(t, res, body)
			if d.ID != 1 || d.PrivateHash == nil || *d.PrivateHash != "rot4t3dh4sh00001" || d.FilenameDownload != "avatar.jpg" ||
				d.FilenameDisk != fixture.AvatarDisk || d.Type == nil || *d.Type != "image/jpeg" {
				t.Errorf("data = %+v", d)
			}
			res, body = e.do(t, "GET", avatar)
			wantV8Error(t, res, body, 404, 203, "Item not found")
			res, body = e.do(t, "GET", "/thumper/assets/rot4t3dh4sh00001")
			if res.StatusCode != 200 || !bytes.Equal(body, fixture.AvatarJPEG()) {
				t.Fatalf("new hash: status %d", res.StatusCode)
			}
			logs := e.logs.String()
			if !strings.Contains(logs, `"msg":"file updated"`) || !strings.Contains(logs, `"user_id":1`) || !strings.Contains(logs, `"fields":["private_hash"]`) {
				t.Errorf("no audit line:\n%s", logs)
			}
			if strings.Contains(logs, "rot4t3dh4sh00001") || strings.Contains(logs, fixture.AvatarHash) {
				t.Errorf("a full hash reached the log:\n%s", logs)
			}
		})
	}
}

// Rotation keeps the generated thumbnails: they are named by filename_disk.
func TestRotationKeepsThumbnails(t *testing.T) {
	e := newEnv(t)
	res, before := e.do(t, "GET", avatar+"?key=thumbnail")
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	st1, _ := os.Stat(filepath.Join(e.ThumbRoot, avatarContain))
	res, body := e.send(t, "POST", "/thumper/files/1/rotate-hash", "", "Authorization", adminAuth)
	d := wantData(t, res, body)
	if d.PrivateHash == nil || !regexp.MustCompile(`^[1-9a-z][0-9a-z]{15}$`).MatchString(*d.PrivateHash) {
		t.Fatalf("generated hash %v", d.PrivateHash)
	}
	res, after := e.do(t, "GET", "/thumper/assets/"+*d.PrivateHash+"?key=thumbnail")
	st2, _ := os.Stat(filepath.Join(e.ThumbRoot, avatarContain))
	if res.StatusCode != 200 || !bytes.Equal(before, after) || !st1.ModTime().Equal(st2.ModTime()) {
		t.Errorf("thumbnail not reused after rotation: status %d", res.StatusCode)
	}
	res, body = e.do(t, "GET", avatar+"?key=thumbnail")
	wantV8Error(t, res, body, 404, 203, "Item not found")
}

func TestRenameChangesDisposition(t *testing.T) {
	e := newEnv(t)
	res, body := e.send(t, "PATCH", "/thumper/files/1", `{"filename_download":"Été \"2020\".jpg"}`, "Authorization", adminAuth)
	if d := wantData(t, res, body); d.FilenameDownload != `Été "2020".jpg` || *d.PrivateHash != fixture.AvatarHash {
		t.Fatalf("data %+v", d)
	}
	res, _ = e.do(t, "GET", avatar)
	want := `inline; filename="_t_ \"2020\".jpg"; filename*=UTF-8''%C3%89t%C3%A9%20%222020%22.jpg`
	if got := res.Header.Get("Content-Disposition"); got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
}

func TestAdminRefusals(t *testing.T) {
	e := newEnv(t)
	fixture.Exec(t, e.DB, `INSERT INTO directus_users (id, status, role, email, token) VALUES
		(3, 'suspended', 1, 'old@example.com', 'suspendedadmin'), (4, 'active', NULL, 'norole@example.com', 'noroletoken')`)
	body := `{"private_hash":"rot4t3dh4sh00001"}`
	cases := map[string]struct {
		method, path string
		header       []string
		status       int
		code         int
	}{
		"case 44: no token":         {"PATCH", "/thumper/files/1", nil, 401, 3},
		"case 44: wrong token":      {"PATCH", "/thumper/files/1", []string{"Authorization", "Bearer wrong"}, 401, 3},
		"token in another case":     {"PATCH", "/thumper/files/1", []string{"Authorization", "Bearer ADMINTOKEN"}, 401, 3},
		"empty bearer":              {"PATCH", "/thumper/files/1", []string{"Authorization", "Bearer "}, 401, 3},
		"basic auth is not a token": {"PATCH", "/thumper/files/1", []string{"Authorization", "Basic YWRtaW46"}, 401, 3},
		"case 45: editor":           {"PATCH", "/thumper/files/1", []string{"Authorization", "Bearer " + fixture.EditorToken}, 403, 302},
		"suspended admin":           {"PATCH", "/thumper/files/1", []string{"Authorization", "Bearer suspendedadmin"}, 403, 302},
		"no role":                   {"PATCH", "/thumper/files/1", []string{"Authorization", "Bearer noroletoken"}, 403, 302},
		"rotate without token":      {"POST", "/thumper/files/1/rotate-hash", nil, 401, 3},
		"rotate as editor":          {"POST", "/thumper/files/1/rotate-hash?access_token=" + fixture.EditorToken, nil, 403, 302},
		"unknown project":           {"PATCH", "/nope/files/1", []string{"Authorization", adminAuth}, 401, 3},
		"GET on files":              {"GET", "/thumper/files/1", []string{"Authorization", adminAuth}, 405, 6},
		"no such file":              {"PATCH", "/thumper/files/999", []string{"Authorization", adminAuth}, 404, 203},
		"id not a number":           {"PATCH", "/thumper/files/abc", []string{"Authorization", adminAuth}, 404, 203},
		"rotate a missing file":     {"POST", "/thumper/files/999/rotate-hash", []string{"Authorization", adminAuth}, 404, 203},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			res, b := e.send(t, c.method, c.path, body, c.header...)
			if res.StatusCode != c.status {
				t.Fatalf("status %d body %s, want %d", res.StatusCode, b, c.status)
			}
			var got struct{ Error struct{ Code int } }
			json.Unmarshal(b, &got)
			if got.Error.Code != c.code {
				t.Errorf("code %d, want %d (%s)", got.Error.Code, c.code, b)
			}
		})
	}
	res, _ := e.do(t, "GET", avatar)
	if res.StatusCode != 200 {
		t.Errorf("a refused request changed the hash: status %d", res.StatusCode)
	}
}

func TestPatchValidation(t *testing.T) {
	e := newEnv(t)
	cases := map[string]struct{ body, msg string }{
		"unknown fields":     {`{"private_hash":"abc","title":"x","type":"y"}`, "These fields cannot be changed here: title, type. Only private_hash and filename_download can."},
		"nothing":            {`{}`, "Nothing to update: send private_hash and/or filename_download."},
		"not JSON":           {`private_hash=abc`, "Request body must be a JSON object."},
		"a list":             {`["private_hash"]`, "Request body must be a JSON object."},
		"null hash":          {`{"private_hash":null}`, "private_hash must be a string."},
		"number hash":        {`{"private_hash":12}`, "private_hash must be a string."},
		"hash too long":      {`{"private_hash":"abcdefghijklmnopq"}`, "private_hash must be 1 to 16 characters of 0-9, A-Z, a-z, '_' and '-'."},
		"hash empty":         {`{"private_hash":""}`, "private_hash must be 1 to 16 characters of 0-9, A-Z, a-z, '_' and '-'."},
		"hash with slash":    {`{"private_hash":"a/b"}`, "private_hash must be 1 to 16 characters of 0-9, A-Z, a-z, '_' and '-'."},
		"hash of another":    {`{"private_hash":"smallpng00000001"}`, "private_hash is already used by another file."},
		"taken, other case":  {`{"private_hash":"SMALLPNG00000001"}`, "private_hash is already used by another file."},
		"name with slash":    {`{"filename_download":"a/b.jpg"}`, "filename_download must not contain '/'."},
		"name with newline":  {`{"filename_download":"a\nb.jpg"}`, "filename_download must not contain control characters."},
		"name empty":         {`{"filename_download":""}`, "filename_download must be 1 to 255 characters."},
		"name too long":      {`{"filename_download":"` + strings.Repeat("é", 256) + `"}`, "filename_download must be 1 to 255 characters."},
		"name with an emoji": {`{"filename_download":"😀.jpg"}`, "filename_download must not contain characters outside the Basic Multilingual Plane (such as emoji)."},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			res, b := e.send(t, "PATCH", "/thumper/files/1", c.body, "Authorization", adminAuth)
			wantV8Error(t, res, b, 422, 4, c.msg)
		})
	}
	res, _ := e.do(t, "GET", avatar)
	if res.StatusCode != 200 || res.Header.Get("Content-Disposition") != avatarInline {
		t.Errorf("a refused PATCH changed the file")
	}
	t.Run("same value again is fine", func(t *testing.T) {
		res, b := e.send(t, "PATCH", "/thumper/files/1", `{"private_hash":"`+fixture.AvatarHash+`","filename_download":"avatar.jpg"}`, "Authorization", adminAuth)
		wantData(t, res, b)
	})
	t.Run("255 characters fit", func(t *testing.T) {
		name := strings.Repeat("é", 251) + ".jpg"
		res, b := e.send(t, "PATCH", "/thumper/files/1", `{"filename_download":"`+name+`"}`, "Authorization", adminAuth)
		if d := wantData(t, res, b); d.FilenameDownload != name {
			t.Errorf("stored %q", d.FilenameDownload)
		}
	})
}

// Two concurrent rotations of one file both succeed, and the file ends
// with one of the two hashes.
func TestConcurrentRotations(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	results := make([]fileData, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.srv.Client().Do(func() *http.Request {
				req, _ := http.NewRequest("POST", e.srv.URL+"/thumper/files/1/rotate-hash", nil)
				req.Header.Set("Authorization", adminAuth)
				return req
			}())
			if err != nil {
				return
			}
			defer res.Body.Close()
			var got struct{ Data fileData }
			if res.StatusCode == 200 && json.NewDecoder(res.Body).Decode(&got) == nil {
				results[i] = got.Data
			}
		}()
	}
	wg.Wait()
	if results[0].PrivateHash == nil || results[1].PrivateHash == nil || *results[0].PrivateHash == *results[1].PrivateHash {
		t.Fatalf("results %+v", results)
	}
	var final string
	if err := e.DB.Get(&final, "SELECT private_hash FROM directus_files WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if final != *results[0].PrivateHash && final != *results[1].PrivateHash {
		t.Errorf("final hash %q is neither result", final)
	}
	for _, r := range results {
		res, _ := e.do(t, "GET", "/thumper/assets/"+*r.PrivateHash)
		if (res.StatusCode == 200) != (*r.PrivateHash == final) {
			t.Errorf("hash %s answers %d", *r.PrivateHash, res.StatusCode)
		}
	}
}

// activityRow is a directus_activity row joined with its revision.
type activityRow struct {
	ID        int64          `db:"id"`
	Action    string         `db:"action"`
	ActionBy  int64          `db:"action_by"`
	IP        string         `db:"ip"`
	UserAgent string         `db:"user_agent"`
	Coll      string         `db:"collection"`
	Item      string         `db:"item"`
	Comment   sql.NullString `db:"comment"`
	RevColl   string         `db:"rev_collection"`
	RevItem   string         `db:"rev_item"`
	Data      string         `db:"data"`
	Delta     string         `db:"delta"`
}

func activities(t *testing.T, e *env) []activityRow {
	t.Helper()
	var rows []activityRow
	if err := e.DB.Select(&rows, `SELECT a.id, a.action, a.action_by, a.ip, a.user_agent, a.collection, a.item, a.comment,
		r.collection AS rev_collection, r.item AS rev_item, r.data, r.delta
		FROM directus_activity a JOIN directus_revisions r ON r.activity = a.id ORDER BY a.id`); err != nil {
		t.Fatal(err)
	}
	return rows
}

// Admin writes leave the rows v8 left for an item update, so the v8 app's
// activity sidebar and revision history show them: the token's user, the
// client, the changed fields as delta and the whole row as data. A refused
// write leaves none.
func TestAdminWritesRecordActivity(t *testing.T) {
	e := newEnv(t)
	ua := "directus-sdk-js/6.3.0"
	res, body := e.send(t, "PATCH", "/thumper/files/1", `{"filename_download":"café/1.jpg"}`, "Authorization", adminAuth, "User-Agent", ua)
	if res.StatusCode != 422 {
		t.Fatalf("a name with '/' was accepted: %d %s", res.StatusCode, body)
	}
	res, body = e.send(t, "PATCH", "/thumper/files/1", `{"filename_download":"café \"1\".jpg"}`, "Authorization", adminAuth, "User-Agent", ua)
	wantData(t, res, body)
	res, body = e.send(t, "POST", "/thumper/files/1/rotate-hash", "", "Authorization", adminAuth, "User-Agent", ua)
	d := wantData(t, res, body)
	// Taken: another file's hash. No activity for a write that did not happen.
	res, body = e.send(t, "PATCH", "/thumper/files/1", `{"private_hash":"`+*d.PrivateHash+`"}`, "Authorization", adminAuth)
	wantData(t, res, body)
	var other string
	e.DB.Get(&other, "SELECT private_hash FROM directus_files WHERE id = 2")
	res, _ = e.send(t, "PATCH", "/thumper/files/1", `{"private_hash":"`+other+`"}`, "Authorization", adminAuth)
	if res.StatusCode == 200 {
		t.Fatal("a taken hash was accepted")
	}

	rows := activities(t, e)
	if len(rows) != 3 {
		t.Fatalf("%d activity rows, want 3 (rename, rotation, no-op hash): %+v", len(rows), rows)
	}
	for i, r := range rows {
		if r.Action != "update" || r.ActionBy != 1 || r.IP != "localhost" || r.Coll != "directus_files" || r.Item != "1" ||
			r.RevColl != "directus_files" || r.RevItem != "1" || r.Comment.Valid {
			t.Errorf("row %d = %+v", i, r)
		}
		if !strings.HasPrefix(r.Data, `{"id":1,"storage":"local","private_hash":`) || !strings.Contains(r.Data, `"filename_disk":"`+fixture.AvatarDisk+`"`) {
			t.Errorf("row %d data = %s", i, r.Data)
		}
	}
	if rows[0].UserAgent != ua || rows[2].UserAgent != "Go-http-client/1.1" {
		t.Errorf("user agents %q, %q", rows[0].UserAgent, rows[2].UserAgent)
	}
	if want := `{"filename_download":"caf\u00e9 \"1\".jpg"}`; rows[0].Delta != want {
		t.Errorf("rename delta = %s, want %s", rows[0].Delta, want)
	}
	if !strings.Contains(rows[0].Data, `"filename_download":"caf\u00e9 \"1\".jpg"`) {
		t.Errorf("rename data = %s", rows[0].Data)
	}
	if want := `{"private_hash":"` + *d.PrivateHash + `"}`; rows[1].Delta != want || !strings.Contains(rows[1].Data, `"private_hash":"`+*d.PrivateHash+`"`) {
		t.Errorf("rotation delta = %s data = %s", rows[1].Delta, rows[1].Data)
	}
}

// A client's User-Agent never makes an admin write fail: an emoji, a
// Latin-1 byte or 300 characters are stored as v8's utf8 varchar(255)
// holds them (strict mode refused the whole insert, and the rotation).
func TestAdminActivityUserAgents(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("é", 300)
	for _, c := range []struct{ ua, stored string }{
		{"sdk 🚀 1.0", "sdk \uFFFD 1.0"},
		{"latin-1 caf\xe9", "latin-1 caf\uFFFD"},
		{long, long[:255*2]},
	} {
		res, body := e.send(t, "POST", "/thumper/files/1/rotate-hash", "", "Authorization", adminAuth, "User-Agent", c.ua)
		wantData(t, res, body)
		rows := activities(t, e)
		if got := rows[len(rows)-1].UserAgent; got != c.stored {
			t.Errorf("User-Agent %q stored as %q, want %q", c.ua, got, c.stored)
		}
	}
}

// The activity row says when the change was made (UTC, as v8's
// DateTimeUtils::nowInUTC wrote it), and the revision's data writes a NULL
// column as PHP's json_encode wrote it: null, not "".
func TestAdminActivityTimeAndNulls(t *testing.T) {
	e := newEnv(t)
	before := time.Now().UTC().Add(-2 * time.Second).Truncate(time.Second)
	res, body := e.send(t, "POST", "/thumper/files/1/rotate-hash", "", "Authorization", adminAuth)
	wantData(t, res, body)
	after := time.Now().UTC().Add(2 * time.Second)
	var at string
	if err := e.DB.Get(&at, "SELECT DATE_FORMAT(action_on, '%Y-%m-%d %H:%i:%s') FROM directus_activity ORDER BY id DESC LIMIT 1"); err != nil {
		t.Fatal(err)
	}
	when, err := time.Parse(time.DateTime, at)
	if err != nil || when.Before(before) || when.After(after) {
		t.Errorf("action_on = %q (%v), want UTC now, between %v and %v", at, err, before, after)
	}
	rows := activities(t, e)
	if data := rows[len(rows)-1].Data; !strings.Contains(data, `"title":null`) {
		t.Errorf("revision data of a NULL title: %s", data)
	}
}
