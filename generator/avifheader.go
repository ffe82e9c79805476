package generator

import (
	"encoding/binary"
	"errors"
	"io"
)

// avifSize returns the largest image spatial extent ('ispe') property of an
// AVIF's meta box: the primary image's width and height for the stills
// encoders write (an alpha plane has the same extent). It reads the boxes
// only, so a header prefix suffices; a meta box cut short by the end of b is
// io.ErrUnexpectedEOF, so that readHeader reads more.
func avifSize(b []byte) (w, h int, err error) {
	meta, err := findBox(b, "meta")
	if err != nil {
		return 0, 0, err
	}
	if len(meta) < 4 {
		return 0, 0, errors.New("avif: short meta box")
	}
	iprp, err := findBox(meta[4:], "iprp") // meta is a full box: version and flags first
	if err != nil {
		return 0, 0, err
	}
	ipco, err := findBox(iprp, "ipco")
	if err != nil {
		return 0, 0, err
	}
	for rest := ipco; len(rest) > 0; {
		typ, body, next, err := nextBox(rest)
		if err != nil {
			return 0, 0, err
		}
		if typ == "ispe" && len(body) >= 12 {
			bw, bh := binary.BigEndian.Uint32(body[4:]), binary.BigEndian.Uint32(body[8:])
			if uint64(bw)*uint64(bh) > uint64(w)*uint64(h) && bw <= 1<<16 && bh <= 1<<16 {
				w, h = int(bw), int(bh)
			}
		}
		rest = next
	}
	if w == 0 || h == 0 {
		return 0, 0, errors.New("avif: no image size")
	}
	return w, h, nil
}

// findBox returns the body of the first box of type typ among the boxes
// that fill b.
func findBox(b []byte, typ string) ([]byte, error) {
	for len(b) > 0 {
		t, body, next, err := nextBox(b)
		if err != nil {
			return nil, err
		}
		if t == typ {
			return body, nil
		}
		b = next
	}
	return nil, errors.New("avif: no " + typ + " box")
}

// nextBox splits the first ISO BMFF box off b: its type, its body and what
// follows it. A box running past the end of b is io.ErrUnexpectedEOF.
func nextBox(b []byte) (typ string, body, rest []byte, err error) {
	if len(b) < 8 {
		return "", nil, nil, io.ErrUnexpectedEOF
	}
	size, header := uint64(binary.BigEndian.Uint32(b)), uint64(8)
	typ = string(b[4:8])
	switch size {
	case 0: // to the end of the file
		size = uint64(len(b))
	case 1:
		if len(b) < 16 {
			return "", nil, nil, io.ErrUnexpectedEOF
		}
		size, header = binary.BigEndian.Uint64(b[8:]), 16
	}
	if size < header {
		return "", nil, nil, errors.New("avif: bad box size")
	}
	if size > uint64(len(b)) {
		return "", nil, nil, io.ErrUnexpectedEOF
	}
	return typ, b[header:size], b[size:], nil
}
