package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// A frame is [uint32 length][uint32 CRC-32C of payload][payload], both
// numbers little-endian. The length counts the payload only.
const frameHeader = 8

// maxPayload bounds one frame, so a damaged length cannot make a reader
// allocate gigabytes.
const maxPayload = 1 << 30

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// beginFrame returns buf with room for a frame header; the payload is
// appended after it and sealFrame fills the header in.
func beginFrame(buf []byte) []byte {
	return append(buf[:0], make([]byte, frameHeader)...)
}

// sealFrame fills in the header of a frame built on beginFrame.
func sealFrame(frame []byte) error {
	n := len(frame) - frameHeader
	if n > maxPayload {
		return fmt.Errorf("frame of %d bytes exceeds %d", n, maxPayload)
	}
	binary.LittleEndian.PutUint32(frame[0:], uint32(n))
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(frame[frameHeader:], castagnoli))
	return nil
}

// errBadFrame marks a frame whose length or checksum does not hold: a torn
// tail or corruption, told apart by what follows it.
var errBadFrame = errors.New("bad frame")

// readFrame returns the payload of the frame at off in a file of the given
// size, and the offset after it. It returns io.EOF when off is the size,
// and errBadFrame when the frame is incomplete or fails its checksum.
func readFrame(f *os.File, off, size int64) ([]byte, int64, error) {
	if off >= size {
		return nil, off, io.EOF
	}
	if size-off < frameHeader {
		return nil, off, errBadFrame
	}
	var h [frameHeader]byte
	if _, err := f.ReadAt(h[:], off); err != nil {
		return nil, off, readErr(err)
	}
	n := int64(binary.LittleEndian.Uint32(h[0:]))
	if n == 0 || n > maxPayload || n > size-off-frameHeader {
		return nil, off, errBadFrame
	}
	p := make([]byte, n)
	if _, err := f.ReadAt(p, off+frameHeader); err != nil {
		return nil, off, readErr(err)
	}
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(h[4:]) {
		return nil, off, errBadFrame
	}
	return p, off + frameHeader + n, nil
}

// readErr turns an unexpected end of file (the file shrank under us,
// which the lock rules out) into a plain error.
func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// validFrameAfter reports whether any valid frame starts after off: a bad
// frame followed by one is corruption, a bad frame with nothing valid
// after it is the torn tail of a crash during Append. It reads the rest of
// the file, which after a crash is at most one frame.
func validFrameAfter(f *os.File, off, size int64) (bool, error) {
	if size-off <= frameHeader {
		return false, nil
	}
	rest := make([]byte, size-off)
	if _, err := f.ReadAt(rest, off); err != nil {
		return false, readErr(err)
	}
	for i := 1; i+frameHeader < len(rest); i++ {
		n := int(binary.LittleEndian.Uint32(rest[i:]))
		if n == 0 || n > len(rest)-i-frameHeader {
			continue
		}
		p := rest[i+frameHeader : i+frameHeader+n]
		if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(rest[i+4:]) {
			continue
		}
		if p[0] == typeEntry || p[0] == typePacked {
			if _, err := decodeEntry(p); err == nil {
				return true, nil
			}
		}
	}
	return false, nil
}
