//go:build unix

package softmax

import (
	"fmt"
	"os"
	"runtime/debug"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// guardedRegion is memory with an inaccessible page on each side of one
// accessible page, so that a slice placed flush against either end of the
// accessible page faults on any access past that end.
type guardedRegion struct {
	mem  []byte
	page int
}

func newGuardedRegion(t *testing.T) *guardedRegion {
	t.Helper()
	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 3*page, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	if err := unix.Mprotect(mem[:page], unix.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	if err := unix.Mprotect(mem[2*page:], unix.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	return &guardedRegion{mem: mem, page: page}
}

// slice returns n elements of F that end exactly at the guard page after
// the accessible page (atEnd) or start exactly after the guard page before
// it, filled with values from fill.
func guardedSlice[F Float](g *guardedRegion, n int, atEnd bool, fill func(i int) F) []F {
	size := int(unsafe.Sizeof(F(0)))
	start := g.page
	if atEnd {
		start = 2*g.page - n*size
	}
	s := unsafe.Slice((*F)(unsafe.Pointer(&g.mem[start])), n)
	for i := range s {
		s[i] = fill(i)
	}
	return s
}

// TestGuardPages runs every kernel operation at every length 0..300 with
// source and destination against guard pages, after the slices and before
// them: any read or write outside the slices faults, and the fault is
// reported as a failure naming the kernel, operation length and layout.
func TestGuardPages(t *testing.T) {
	t.Run("float32", guardPages[float32])
	t.Run("float64", guardPages[float64])
}

func guardPages[F Float](t *testing.T) {
	src, dst := newGuardedRegion(t), newGuardedRegion(t)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	forEachKernel(t, func(t *testing.T) {
		for _, atEnd := range []bool{true, false} {
			for n := 0; n <= 300; n++ {
				x := guardedSlice(src, n, atEnd, func(i int) F { return F(i%17) - 8 })
				y := guardedSlice(dst, n, atEnd, func(int) F { return 0 })
				layout := "before"
				if atEnd {
					layout = "after"
				}
				if err := catchFault(func() {
					runKernelOps(y, x, false)
					if n > 0 {
						Softmax(y, x)
						LogSoftmax(y, x)
						LogSumExp(x)
						CrossEntropy(y, x, n-1)
						Softmax(x, x)
					}
				}); err != nil {
					t.Fatalf("n=%d, guard page %s the slices: %v", n, layout, err)
				}
			}
		}
	})
}

// catchFault runs f and returns the fault it caused, if any.
func catchFault(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}
