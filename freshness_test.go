package main

import (
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
)

// With the default lookup cache a hash rotated by plain SQL from another
// connection is 404 within the probes of change_probe plus one probe, and an admin rotation before its
// response returns; with change_probe = "0" every request reads the
// database (v8's way), so the SQL rotation is seen at once.
func TestServeFreshness(t *testing.T) {
	for _, c := range []struct {
		name, extra string
		cached      bool
	}{
		{"cache", "", true},
		{"change_probe 0", "change_probe = \"0\"\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			th := fixture.NewThumper(t)
			addr, metricsAddr := freeAddr(t), freeAddr(t)
			cfg := mysqlConfig(t, th, addr)
			b, _ := os.ReadFile(cfg)
			conf := strings.Replace(string(b), "[server]\n", "[server]\nmetrics_listen = \""+metricsAddr+"\"\n", 1)
			conf = strings.Replace(conf, "[projects.thumper.database]", "[projects.thumper]\n"+c.extra+"[projects.thumper.database]", 1)
			os.WriteFile(cfg, []byte(conf), 0o644)
			base := startServe(t, cfg, addr)
			url := base + "/thumper/assets/" + fixture.AvatarHash
			if res, _ := get(t, url); res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			probes := func() int {
				_, metrics := get(t, "http://"+metricsAddr+"/metrics")
				m := regexp.MustCompile(`v8assets_change_probe_seconds_count\{project="thumper"\} (\d+)`).FindSubmatch(metrics)
				if m == nil {
					return 0
				}
				n, _ := strconv.Atoi(string(m[1]))
				return n
			}
			before := probes()
			fixture.Exec(t, th.DB, "UPDATE directus_files SET private_hash = 'sqlrotated000001' WHERE id = 1")
			start := time.Now()
			for {
				res, _ := get(t, url)
				if res.StatusCode == 404 {
					break
				}
				if !c.cached {
					t.Fatalf("without the cache the rotated hash still answers %d", res.StatusCode)
				}
				if time.Since(start) > 30*time.Second {
					t.Fatalf("rotated hash still answers %d after %v", res.StatusCode, time.Since(start))
				}
				time.Sleep(10 * time.Millisecond)
			}
			// The bound is change_probe plus one probe: the write is seen by
			// the first probe that starts after it, the second at the latest
			// if one was running when it was made (however slow the machine).
			if n := probes() - before; c.cached && n > 3 {
				t.Errorf("rotation by SQL seen only after %d probes", n)
			}
			// And the probes come every change_probe (250 ms): ten times
			// the bound is room enough for any machine.
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("rotation by SQL seen only after %v", d)
			}
			t.Logf("rotation by SQL seen after %v", time.Since(start))

			req := base + "/thumper/files/1/rotate-hash?access_token=" + fixture.AdminToken
			res, err := httpPost(req)
			if err != nil || res != 200 {
				t.Fatalf("rotate-hash: %d %v", res, err)
			}
			if res, _ := get(t, base+"/thumper/assets/sqlrotated000001"); res.StatusCode != 404 {
				t.Errorf("old hash right after an admin rotation: %d", res.StatusCode)
			}
			_, metrics := get(t, "http://"+metricsAddr+"/metrics")
			cached := strings.Contains(string(metrics), `v8assets_lookup_cache_total{project="thumper",result="miss"}`) &&
				strings.Contains(string(metrics), `v8assets_change_probe_seconds_count{project="thumper"}`) &&
				strings.Contains(string(metrics), `v8assets_lookup_cache_invalidations_total{project="thumper",reason="own_write"} 1`)
			if cached != c.cached {
				t.Errorf("cache metrics present: %v, want %v", cached, c.cached)
			}
		})
	}
}

func httpPost(url string) (int, error) {
	res, err := http.Post(url, "application/json", nil)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
