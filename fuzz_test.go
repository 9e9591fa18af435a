package softmax

import (
	"encoding/binary"
	"math"
	"testing"
)

// The fuzz targets decode arbitrary bytes into a vector and check every
// kernel and algorithm against the float64 reference under the accuracy and
// special-value contract. The first byte picks the decoding: raw bit
// patterns (every special value, subnormals, huge magnitudes) or small
// integers scaled into the range where softmax outputs are spread out.

func decodeFuzz[F Float](data []byte) []F {
	if len(data) == 0 {
		return nil
	}
	mode, data := data[0], data[1:]
	if mode%2 == 0 {
		var x []F
		for len(data) > 0 {
			x = append(x, F(int8(data[0]))/F(1+mode%16))
			data = data[1:]
		}
		return x
	}
	size := sizeOf[F]()
	x := make([]F, len(data)/size)
	for i := range x {
		if size == 4 {
			x[i] = F(math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])))
		} else {
			x[i] = F(math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])))
		}
	}
	return x
}

func fuzzSeeds(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 2, 3, 250, 128, 127})
	f.Add([]byte{2, 100, 0, 156, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 9})
	f.Add(append([]byte{1}, make([]byte, 64)...))
	for _, bits := range []uint32{0x7fc00000, 0x7f800000, 0xff800000, 0x7f7fffff, 0x00000001} {
		b := []byte{1, 0, 0, 0x80, 0x3f}
		b = binary.LittleEndian.AppendUint32(b, bits)
		f.Add(append(b, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40))
	}
	for _, bits := range []uint64{0x7ff8000000000000, 0x7ff0000000000000, 0xfff0000000000000} {
		b := binary.LittleEndian.AppendUint64([]byte{1}, 0x3ff0000000000000)
		f.Add(binary.LittleEndian.AppendUint64(b, bits))
	}
}

func fuzzContract[F Float](t *testing.T, data []byte) {
	x := decodeFuzz[F](data)
	y := make([]F, len(x))
	kernelModes(func(mode string) {
		Softmax(y, x)
		checkSoftmax(t, mode, y, x)
		LogSoftmax(y, x)
		checkLogSoftmax(t, mode, y, x)
		checkLogSumExp(t, mode, LogSumExp(x), x)
		if len(x) > 0 {
			target := int(data[len(data)-1]) % len(x)
			loss := CrossEntropy(y, x, target)
			if want := -refLogSoftmax(x)[target]; !logWithin(loss, want) {
				t.Errorf("%s: CrossEntropy %g, want %g", mode, loss, want)
			}
			checkLogSumExp(t, mode+" Partial", PartialOf(x).LogSumExp(), x)
		}
	})
}

func FuzzFloat32(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzContract[float32](t, data) })
}

func FuzzFloat64(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzContract[float64](t, data) })
}
