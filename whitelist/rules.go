// Package whitelist decides whether a thumbnail may be generated and what
// exactly it is: it turns the asset_whitelist / asset_whitelist_system
// settings and a request's key, w, h, f, q and format parameters into a
// canonical Spec, with v8's validation messages. It knows nothing of HTTP,
// SQL or pixels.
package whitelist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Entry is one whitelist row: {key, width, height, fit, quality}. Values
// keep their JSON type because v8 compared them loosely.
type Entry struct {
	key, width, height, fit, quality scalar
}

// Rules is a project's parsed whitelist settings.
type Rules struct {
	System []Entry
	User   []Entry
	// Enabled is v8's "user whitelist not empty": when false, any size
	// passes param mode and only system keys resolve in key mode.
	Enabled bool
}

// ErrMalformed is wrapped by the warning Parse returns for user whitelist
// JSON that v8 silently treated as an empty (disabled) whitelist.
var ErrMalformed = errors.New("malformed asset_whitelist")

// Parse reads the raw setting values (hasX false when the row is missing or
// NULL). A missing or invalid system list is treated as empty (spec Q10).
// Like v8, an empty or malformed user list disables the whitelist (Q9). A
// malformed list, user or system, is also reported through warn (wrapping
// ErrMalformed), for logging.
func Parse(system string, hasSystem bool, user string, hasUser bool) (rules Rules, warn error) {
	var systemErr error
	if hasSystem {
		var err error
		if rules.System, _, err = parseList(system); err != nil {
			// Q10: treated as empty, but the operator hears of it.
			systemErr = fmt.Errorf("%w: asset_whitelist_system (treated as empty): %v", ErrMalformed, err)
		}
	}
	if !hasUser {
		return rules, systemErr
	}
	entries, empty, err := parseList(user)
	if err != nil {
		return rules, errors.Join(fmt.Errorf("%w (whitelist disabled, as in v8): %v", ErrMalformed, err), systemErr)
	}
	rules.User = entries
	rules.Enabled = !empty
	return rules, systemErr
}

// parseList decodes a whitelist setting. empty reports PHP's empty() of the
// decoded value: true for "", null, false, 0, "0", [] and {}.
func parseList(raw string) (entries []Entry, empty bool, err error) {
	if raw == "" {
		return nil, true, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, true, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, true, errors.New("trailing data after JSON value")
	}
	switch t := v.(type) {
	case nil:
		return nil, true, nil
	case bool:
		if !t {
			return nil, true, nil
		}
	case json.Number:
		if f, _ := t.Float64(); f == 0 {
			return nil, true, nil
		}
	case string:
		if t == "" || t == "0" {
			return nil, true, nil
		}
	case []any:
		return entriesOf(t), len(t) == 0, nil
	case map[string]any:
		ordered, err := objectValues(raw)
		if err != nil {
			return nil, true, err
		}
		return entriesOf(ordered), len(ordered) == 0, nil
	}
	return nil, true, fmt.Errorf("not a list of sizes: %.40s", raw)
}

// objectValues returns the values of a top-level JSON object in document
// order (PHP arrays keep it; Go maps do not).
func objectValues(raw string) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out []any
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func entriesOf(items []any) []Entry {
	entries := make([]Entry, 0, len(items))
	for _, item := range items {
		obj, ok := item.(map[string]any)
		if !ok {
			// PHP read every field of a non-array entry as null.
			entries = append(entries, Entry{})
			continue
		}
		entries = append(entries, Entry{
			key: scalarOf(obj["key"]), width: scalarOf(obj["width"]), height: scalarOf(obj["height"]),
			fit: scalarOf(obj["fit"]), quality: scalarOf(obj["quality"]),
		})
	}
	return entries
}

func scalarOf(v any) scalar {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return scalar{}
		}
		return scalar{kind: 'n', num: f}
	case string:
		return scalar{kind: 's', str: t}
	case bool:
		return scalar{kind: 'b', truth: t}
	}
	return scalar{}
}

// Keys returns the presets a key-mode request can name (system keys, then
// user keys when the whitelist is enabled or required), each once, in that
// order.
func (r Rules) Keys(require bool) []string {
	var keys []string
	for _, entries := range r.lists(require) {
		for _, e := range entries {
			if k := e.key.text(); k != "" && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// lists returns the entry lists v8 searched, in its order: system, then
// user when the whitelist is enabled (or required). It allocates nothing:
// Resolve runs on every thumbnail request.
func (r Rules) lists(require bool) [2][]Entry {
	if r.Enabled || require {
		return [2][]Entry{r.System, r.User}
	}
	return [2][]Entry{r.System, nil}
}
