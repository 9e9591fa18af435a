//go:build gc && !purego

package softmax

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestCPUFeaturesSelectKernel checks kernel selection against a second,
// independent reading of the CPU's features (golang.org/x/sys/cpu, where
// the library uses klauspost/cpuid): a CPU with AVX-512F must run the
// avx512 kernel, one with AVX2 and FMA the avx2 kernel, unless the
// environment forces another. It fails, rather than skips, on a CPU whose
// best kernel was not selected.
func TestCPUFeaturesSelectKernel(t *testing.T) {
	want := "generic"
	switch {
	case cpu.X86.HasAVX512F:
		want = "avx512"
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		want = "avx2"
	}
	if supportedKernels()[0].String() != want {
		t.Errorf("the CPU's best kernel is %s, but supportedKernels lists %v", want,
			supportedKernels())
	}
	if os.Getenv(KernelEnv) == "" && Kernel() != want {
		t.Errorf("Kernel() = %s on a CPU whose best kernel is %s", Kernel(), want)
	}
	if want == "avx512" && !cpu.X86.HasAVX2 {
		t.Log("AVX-512F without AVX2: the avx2 kernel is not listed")
	}
	t.Logf("selected %s; two passes from %d bytes", Kernel(), twoPassMinBytes[activeKernel])
}

// TestTwoPassThresholdFromCache checks that init set the SIMD kernels'
// crossover from the L2 size rather than leaving it at "never".
func TestTwoPassThresholdFromCache(t *testing.T) {
	for _, k := range supportedKernels() {
		if k == kernelGeneric {
			continue
		}
		if n := twoPassMinBytes[k]; n <= 0 || n == math.MaxInt {
			t.Errorf("%v: two-pass threshold %d, want one set from the L2 size", k, n)
		}
	}
}

// FuzzKernels compares every kernel the CPU has with the reference: at
// the kernel level with the generic kernel (compareKernelResults), and
// through Softmax, LogSoftmax and LogSumExp with the float64 reference of
// softmax_test.go, in both algorithms. The input bytes are read as
// float32s, or as float64s when the first byte is odd.
func FuzzKernels(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0x80, 0x3f})
	f.Add(floatBytes([]float64{-1, 2, 3.5, -100, math.Inf(-1), 40, 1e300}))
	f.Add(floatBytes32([]float32{1e38, -1e38, 0, 88, -88, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}))
	f.Add(floatBytes32([]float32{float32(math.NaN()), 1, float32(math.Inf(1)), 2}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 && data[0]%2 == 1 {
			fuzzKernels(t, decodeFloats[float64](data[1:]))
		} else if len(data) > 0 {
			fuzzKernels(t, decodeFloats[float32](data[1:]))
		}
	})
}

func fuzzKernels[F Float](t *testing.T, x []F) {
	// The kernels' contract asks for x[i] <= m for finite x[i]; NaN and
	// +Inf are the public API's business (below), so the kernel-level
	// comparison replaces them by finite values.
	clean := make([]F, len(x))
	for i, v := range x {
		clean[i] = v
		if v != v || math.IsInf(float64(v), 1) {
			clean[i] = F(i % 7)
		}
	}
	dst := make([]F, len(x))
	restore := useKernel(kernelGeneric)
	want := runKernelOps(dst, clean, true)
	restore()
	for _, k := range supportedKernels() {
		restore := useKernel(k)
		got := runKernelOps(dst, clean, true)
		restore()
		compareKernelResults(t, fmt.Sprintf("%v %T n=%d", k, F(0), len(x)), got, want)
	}

	y := make([]F, len(x))
	kernelModes(func(mode string) {
		Softmax(y, x)
		checkSoftmax(t, mode, y, x)
		LogSoftmax(y, x)
		checkLogSoftmax(t, mode, y, x)
		checkLogSumExp(t, mode, LogSumExp(x), x)
	})
}

// decodeFloats reads little-endian floats of type F from data.
func decodeFloats[F Float](data []byte) []F {
	size := sizeOf[F]()
	x := make([]F, len(data)/size)
	for i := range x {
		b := data[i*size:]
		if size == 4 {
			x[i] = F(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		} else {
			x[i] = F(math.Float64frombits(binary.LittleEndian.Uint64(b)))
		}
	}
	return x
}

func floatBytes(x []float64) []byte {
	b := []byte{1}
	for _, v := range x {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func floatBytes32(x []float32) []byte {
	b := []byte{0}
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// TestAssemblyIsGenerated regenerates simd_amd64.s with _tools/asmgen and
// fails if the committed file differs: the assembly is only ever changed
// through its generator.
func TestAssemblyIsGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator with go run")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		t.Skipf("no go command at %s", goTool)
	}
	out := filepath.Join(t.TempDir(), "simd_amd64.s")
	cmd := exec.Command(goTool, "run", "./asmgen", "-out", out)
	cmd.Dir = "_tools"
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./asmgen: %v\n%s", err, msg)
	}
	generated, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("simd_amd64.s")
	if err != nil {
		t.Fatal(err)
	}

	// The first line names the output path, which differs here.
	_, generated, _ = bytes.Cut(generated, []byte("\n"))
	_, committed, _ = bytes.Cut(committed, []byte("\n"))
	if !bytes.Equal(generated, committed) {
		t.Errorf("simd_amd64.s is not what _tools/asmgen generates; run\n" +
			"\tcd _tools && go run ./asmgen -out ../simd_amd64.s")
	}
}
