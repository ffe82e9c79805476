package main

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/v8assets/v8assets/internal/fixture"
)

// meanSquare returns the RMSE of two same-sized images over RGB on 0..1.
func meanSquare(a, b image.Image) float64 {
	var sum float64
	for y := 0; y < a.Bounds().Dy(); y++ {
		for x := 0; x < a.Bounds().Dx(); x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			for _, d := range []float64{float64(r1) - float64(r2), float64(g1) - float64(g2), float64(b1) - float64(b2)} {
				sum += (d / 65535) * (d / 65535)
			}
		}
	}
	return math.Sqrt(sum / float64(3*a.Bounds().Dx()*a.Bounds().Dy()))
}

// The rendering key reaches the generator: with "v8" a new thumbnail is
// close to the one v8 wrote for the same original, with "fast" it is not;
// and the key changes nothing in the URL or the generated path.
func TestServeRenderingKey(t *testing.T) {
	demo := filepath.Join(fixture.RepoRoot(), "testdata", "v8demo")
	const disk = "0c38c996-d254-4c0a-9ba6-3d348ed39ba5.jpg"
	wantFile := filepath.Join(demo, "generated", "w300,h300,fcrop,q80", disk)
	want, _, err := image.Decode(bytes.NewReader(must(os.ReadFile(wantFile))))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rendering string
		close     bool
	}{{"v8", true}, {"fast", false}} {
		t.Run(c.rendering, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "seed.sql"), []byte(fmt.Sprintf(
				"INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES (1, 'v8demohash000001', '%s', 'a.jpg', 'image/jpeg', 1, '2020-01-01 00:00:00');\n"+
					"UPDATE directus_settings SET value = '[]' WHERE `key` = 'asset_whitelist';\n", disk)), 0o644)
			addr := freeAddr(t)
			cfg := filepath.Join(dir, "config.toml")
			os.WriteFile(cfg, []byte(fmt.Sprintf(`[server]
listen = %q
[projects.site]
rendering = %q
auto_orient = false
[projects.site.database]
type = "sqlite"
path = "directus.db"
seed = "seed.sql"
[projects.site.storage]
root = %q
thumb_root = "generated"
`, addr, c.rendering, filepath.Join(demo, "originals"))), 0o644)
			base := startServe(t, cfg, addr)
			res, body := get(t, base+"/site/assets/v8demohash000001?w=300&h=300&f=crop&q=80")
			if res.StatusCode != 200 {
				t.Fatalf("status %d %s", res.StatusCode, body)
			}
			if _, err := os.Stat(filepath.Join(dir, "generated", "w300,h300,fcrop,q80", disk)); err != nil {
				t.Errorf("generated path: %v", err)
			}
			got, _, err := image.Decode(bytes.NewReader(body))
			if err != nil || got.Bounds() != want.Bounds() {
				t.Fatalf("decode: %v, %v vs %v", err, got.Bounds(), want.Bounds())
			}
			e := meanSquare(got, want)
			t.Logf("RMSE against v8's file: %.4f", e)
			if (e <= 0.012) != c.close {
				t.Errorf("rendering %s: RMSE %.4f against v8's thumbnail", c.rendering, e)
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
