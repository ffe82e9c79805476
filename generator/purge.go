package generator

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/v8assets/v8assets/storage"
)

// variantDir matches the directories v8 and v8assets generate into,
// w<W>,h<H>,f<F>,q<Q>, including v8's odd spellings (w0200, ffoo), and the
// conversion directories w<W>,h<H>,f<F>,q<Q>,<format> (spec Q2).
var variantDir = regexp.MustCompile(`^w[^,/]*,h[^,/]*,f[^,/]*,q[^,/]*(,[0-9a-z]+)?$`)

// PurgeFilter narrows a purge; zero fields mean "all".
type PurgeFilter struct {
	// Source is an original's filename_disk: only its variants, including
	// those converted to another format.
	Source string
	// Dir is one variant directory, such as w200,h200,fcrop,q80.
	Dir string
}

// Purge deletes generated variants under thumbs — files inside variant
// directories only; anything else in the thumb root is never touched — and
// returns their names. With dryRun it deletes nothing and returns what it
// would delete. progress, when not nil, is told how many of how many files
// are removed so far: once the list is known, then after each removal.
func Purge(ctx context.Context, thumbs storage.Store, f PurgeFilter, dryRun bool, progress func(removed, total int)) ([]string, error) {
	if progress == nil {
		progress = func(int, int) {}
	}
	if f.Dir != "" && !variantDir.MatchString(f.Dir) {
		return nil, fmt.Errorf("%q is not a generated directory name (like w200,h200,fcrop,q80)", f.Dir)
	}
	start := "."
	if f.Dir != "" {
		start = f.Dir
	}
	names, err := thumbs.List(ctx, start)
	if err != nil {
		return nil, err
	}
	var matched []string
	for _, name := range names {
		dir, rest, ok := strings.Cut(name, "/")
		if !ok || !variantDir.MatchString(dir) || (f.Source != "" && !isVariantOf(rest, f.Source)) {
			continue
		}
		matched = append(matched, name)
	}
	if dryRun {
		progress(len(matched), len(matched))
		return matched, nil
	}
	progress(0, len(matched))
	for i, name := range matched {
		if err := thumbs.Remove(ctx, name); err != nil {
			return matched[:i], err
		}
		progress(i+1, len(matched))
	}
	return matched, nil
}

// outputFormats are the extensions a converted variant may carry.
var outputFormats = []string{"jpg", "jpeg", "png", "gif", "webp", "avif"}

// isVariantOf reports whether a file inside a variant directory was made
// from the original named source: the same name, or the same name with
// another output format's extension — where conversions were written before
// they got directories of their own (spec Q2), so purge removes those too.
func isVariantOf(name, source string) bool {
	if name == source {
		return true
	}
	stem := strings.TrimSuffix(source, path.Ext(source))
	for _, ext := range outputFormats {
		if name == stem+"."+ext {
			return true
		}
	}
	return false
}
