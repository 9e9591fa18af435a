package softmax

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// requireKernelEnv names the environment variable with which CI demands a
// kernel: when it is set, TestRequiredKernel fails unless init selected
// exactly that kernel, which turns a silent fallback to a slower kernel
// into a failure.
const requireKernelEnv = "GOSOFTMAX_REQUIRE_KERNEL"

func TestRequiredKernel(t *testing.T) {
	want := os.Getenv(requireKernelEnv)
	if want == "" {
		t.Skipf("%s is not set; CI sets it from the CPU's features", requireKernelEnv)
	}
	if got := Kernel(); got != want {
		t.Fatalf("Kernel() = %q, but %s demands %q", got, requireKernelEnv, want)
	}
}

// TestBestKernelSelected checks, without any environment, that init chose
// the best kernel this CPU supports: the first of supportedKernels, which
// lists them best first.
func TestBestKernelSelected(t *testing.T) {
	if os.Getenv(KernelEnv) != "" {
		t.Skipf("%s forces the kernel", KernelEnv)
	}
	if best := supportedKernels()[0]; activeKernel != best {
		t.Fatalf("init selected %v; the CPU supports %v", activeKernel, best)
	}
}

// TestKernelEnvIgnoresUnknown checks that an unknown or unsupported kernel
// name leaves the best kernel selected.
func TestKernelEnvIgnoresUnknown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child test process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"no-such-kernel", "generic"} {
		cmd := exec.Command(exe, "-test.run=^TestPrintKernel$", "-test.v")
		cmd.Env = append(os.Environ(), KernelEnv+"="+name, "GOSOFTMAX_PRINT_KERNEL=1")
		out, err := cmd.CombinedOutput()
		if errors.Is(err, syscall.ENOEXEC) {
			t.Skipf("cannot start the test binary as a child here (an emulated GOARCH?): %v", err)
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		want := supportedKernels()[0].String()
		if name == "generic" {
			want = "generic"
		}
		if !strings.Contains(string(out), "kernel="+want+"\n") {
			t.Errorf("%s=%s: want kernel %s, child printed:\n%s", KernelEnv, name, want, out)
		}
	}
}

// TestPrintKernel is run by TestKernelEnvIgnoresUnknown in a child process.
func TestPrintKernel(t *testing.T) {
	if os.Getenv("GOSOFTMAX_PRINT_KERNEL") == "" {
		t.Skip("only run as a child of TestKernelEnvIgnoresUnknown")
	}
	os.Stdout.WriteString("kernel=" + Kernel() + "\n")
}

// TestPuregoBuildsNoAssembly proves that the purego tag leaves every
// assembly file out of the build on every architecture Go supports.
func TestPuregoBuildsNoAssembly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list for every GOARCH")
	}
	goTool := runtime.GOROOT() + "/bin/go"
	if _, err := os.Stat(goTool); err != nil {
		t.Skipf("no go command at %s", goTool)
	}
	archs := []string{"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le",
		"mipsle", "ppc64", "ppc64le", "riscv64", "s390x", "wasm"}
	for _, arch := range archs {
		goos := "linux"
		if arch == "wasm" {
			goos = "js"
		}
		cmd := exec.Command(goTool, "list", "-tags", "purego", "-f", "{{.SFiles}}", ".")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+arch, "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("GOARCH=%s go list: %v\n%s", arch, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "[]" {
			t.Errorf("GOARCH=%s -tags purego builds assembly: %s", arch, got)
		}
	}
}
