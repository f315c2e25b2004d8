package main

import (
	"bufio"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// mapping is one class of xinit-go's address space and what of it is resident.
type mapping struct {
	class          string
	size, rss, pss int // KiB
	anon, private  int // KiB: anonymous, and private (clean+dirty)
}

// smapsBreakdown reads /proc/PID/smaps and sums Rss by class: the executable's
// text, read-only data and writable data, the Go heap and the runtime's other
// anonymous memory, the thread stacks, libc, the dynamic loader, other libraries
// and the kernel's vDSO/vvar.
func smapsBreakdown(pid int) ([]mapping, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	sums := map[string]*mapping{}
	var cur *mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if !strings.HasSuffix(fields[0], ":") || strings.Contains(fields[0], "-") {
			// A mapping's header: ADDR PERMS OFFSET DEV INODE [PATH]
			path := ""
			if len(fields) >= 6 {
				path = strings.Join(fields[5:], " ")
			}
			c := classify(fields[1], path, exe)
			if sums[c] == nil {
				sums[c] = &mapping{class: c}
			}
			cur = sums[c]
			continue
		}
		if cur == nil || len(fields) < 2 {
			continue
		}
		kb, _ := strconv.Atoi(fields[1])
		switch fields[0] {
		case "Size:":
			cur.size += kb
		case "Rss:":
			cur.rss += kb
		case "Pss:":
			cur.pss += kb
		case "Anonymous:":
			cur.anon += kb
		case "Private_Clean:", "Private_Dirty:":
			cur.private += kb
		}
	}
	var out []mapping
	for _, m := range sums {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rss > out[j].rss })
	return out, sc.Err()
}

func classify(perms, path, exe string) string {
	base := filepath.Base(path)
	switch {
	case path == exe && strings.HasPrefix(perms, "r-x"):
		return "executable: text"
	case path == exe && strings.HasPrefix(perms, "r--"):
		return "executable: rodata, pclntab"
	case path == exe:
		return "executable: data, bss"
	case path == "[stack]":
		return "main thread stack"
	case path == "[vdso]" || path == "[vvar]" || path == "[vsyscall]" || path == "[vvar_vclock]":
		return "kernel: vdso, vvar"
	case path == "[heap]":
		return "C heap (brk)"
	case strings.HasPrefix(base, "libc.so") || strings.HasPrefix(base, "libc-"):
		return "libc"
	case strings.HasPrefix(base, "ld-linux") || strings.HasPrefix(base, "ld-"):
		return "dynamic loader"
	case path != "" && !strings.HasPrefix(path, "["):
		return "other files: " + base
	}
	return "anonymous: Go heap, stacks, runtime"
}

// memory runs xinit-go with the whole session (Xvfb, x11vnc, the app and the
// health server, scraped once), and prints its resident set by mapping.
//
//	xinit-bench memory [-xinit bin/xinit-go] [-runs 3]
func memory(args []string, stdout, stderr io.Writer) int {
	b, ok := benchFromFlags("memory", args, stderr)
	if !ok {
		return 2
	}
	var tables [][]mapping
	var rss []float64
	for r := 0; r < b.runs; r++ {
		m, err := b.sessionSmaps()
		if err != nil {
			fmt.Fprintln(stderr, "xinit-bench memory:", err)
			return 1
		}
		tables = append(tables, m)
		total := 0
		for _, x := range m {
			total += x.rss
		}
		rss = append(rss, float64(total)/1024)
	}
	// Report the run with the median total.
	mid := median(rss)
	pick := tables[0]
	for i, t := range tables {
		if rss[i] == mid {
			pick = t
		}
	}
	fmt.Fprintf(stdout, "Resident set of xinit-go with Xvfb, x11vnc, the app and the health server up (scraped once), by mapping (KiB), median of %d runs:\n\n", b.runs)
	fmt.Fprintf(stdout, "| mapping | size | resident (Rss) | proportional (Pss) | anonymous |\n|---|---|---|---|---|\n")
	var tot mapping
	for _, m := range pick {
		fmt.Fprintf(stdout, "| %s | %d | %d | %d | %d |\n", m.class, m.size, m.rss, m.pss, m.anon)
		tot.size += m.size
		tot.rss += m.rss
		tot.pss += m.pss
		tot.anon += m.anon
	}
	fmt.Fprintf(stdout, "| **total** | %d | **%d** | %d | %d |\n\nRSS per run (MB): %s\n", tot.size, tot.rss, tot.pss, tot.anon, floats(rss))
	return 0
}

func floats(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.FormatFloat(x, 'f', 1, 64))
	}
	return strings.Join(s, ", ")
}

// sessionSmaps starts one session, waits until it is usable, scrapes /metrics and
// /status, lets it settle and reads xinit-go's smaps.
func (b *bench) sessionSmaps() ([]mapping, error) {
	dir, err := os.MkdirTemp("", "bench-mem-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	d, p, hp := b.nextDisplay(), freePort(), freePort()
	m := filepath.Join(dir, "app")
	cmd, err := b.pid1(append([]string{b.xinit, "--"}, b.helperArgv("mark", m)...), []string{
		"XINIT_BACKEND=xvfb", "XINIT_DISPLAY=:" + strconv.Itoa(d), "XINIT_VNC_PORT=" + strconv.Itoa(p),
		"XINIT_HEALTH_ADDR=127.0.0.1:" + strconv.Itoa(hp), "XINIT_LOG_LEVEL=error",
		"XINIT_RUNTIME_DIR=" + filepath.Join(dir, "run"), "SCREEN_RESOLUTION=1280x1024x24"}, io.Discard)
	if err != nil {
		return nil, err
	}
	defer stopInit(cmd)
	if _, ok := usable(time.Now(), m, p, 60*time.Second); !ok {
		return nil, fmt.Errorf("the session did not become usable in 60s")
	}
	for _, path := range []string{"/metrics", "/status", "/healthz"} {
		if _, err := scrape(fmt.Sprintf("http://127.0.0.1:%d%s", hp, path)); err != nil {
			return nil, err
		}
	}
	time.Sleep(2 * time.Second)
	if os.Getenv("XINIT_BENCH_SHOW_GO") != "" {
		body, _ := scrape(fmt.Sprintf("http://127.0.0.1:%d/metrics", hp))
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "go_") || strings.HasPrefix(l, "process_") {
				fmt.Fprintln(os.Stderr, l)
			}
		}
	}
	pid := childOf(cmd.Process.Pid)
	if pid == 0 {
		return nil, fmt.Errorf("xinit-go not found in its namespace")
	}
	return smapsBreakdown(pid)
}

// scrape GETs url and returns the body; a status other than 200 is an error.
func scrape(url string) (string, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(body), err
}

// sizes prints the executable's size by package (the sum of its symbols' sizes,
// from go tool nm of an unstripped build), largest first.
//
//	xinit-bench sizes [-top 40] [PACKAGE]
func sizes(args []string, stdout, stderr io.Writer) int {
	top := 40
	pkg := "./cmd/xinit-go"
	for i := 0; i < len(args); i++ {
		if args[i] == "-top" && i+1 < len(args) {
			top, _ = strconv.Atoi(args[i+1])
			i++
		} else {
			pkg = args[i]
		}
	}
	dir, err := os.MkdirTemp("", "bench-sizes-")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Stderr = stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(stderr, "go build:", err)
		return 1
	}
	f, err := elf.Open(bin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// Symbols in .bss and .noptrbss take no room in the file and are resident
	// only once written: left out.
	kindOf := map[string]string{".text": "T", ".rodata": "R", ".typelink": "R", ".itablink": "R", ".data": "D", ".noptrdata": "D"}
	bySym := map[string]map[string]int{} // package -> T/R/D -> bytes
	total := map[string]int{}
	for _, sym := range syms {
		if int(sym.Section) <= 0 || int(sym.Section) >= len(f.Sections) {
			continue
		}
		kind, ok := kindOf[f.Sections[sym.Section].Name]
		if !ok || sym.Size == 0 {
			continue
		}
		p := symbolPackage(sym.Name)
		if bySym[p] == nil {
			bySym[p] = map[string]int{}
		}
		bySym[p][kind] += int(sym.Size)
		total[p] += int(sym.Size)
	}
	var pkgs []string
	all := 0
	for p, n := range total {
		pkgs = append(pkgs, p)
		all += n
	}
	sort.Slice(pkgs, func(i, j int) bool { return total[pkgs[i]] > total[pkgs[j]] })
	fmt.Fprintf(stdout, "| package (or module) | text (KB) | rodata (KB) | data (KB) | total (KB) |\n|---|---|---|---|---|\n")
	for i, p := range pkgs {
		if i == top {
			break
		}
		s := bySym[p]
		fmt.Fprintf(stdout, "| %s | %d | %d | %d | %d |\n", p, s["T"]/1000, s["R"]/1000, s["D"]/1000, total[p]/1000)
	}
	fmt.Fprintf(stdout, "| all symbols | | | | %d |\n", all/1000)
	for _, sec := range f.Sections {
		if sec.Name == ".gopclntab" {
			fmt.Fprintf(stdout, "\nNot by package: .gopclntab (function tables for tracebacks and the GC), %d KB.\n", sec.Size/1000)
		}
	}
	return 0
}

// symbolPackage folds a symbol into its module or standard package group:
// github.com/prometheus/client_golang/prometheus.(*Registry).Gather ->
// github.com/prometheus/client_golang; runtime.mallocgc -> runtime.
func symbolPackage(sym string) string {
	sym = strings.TrimPrefix(sym, "go:")
	sym = strings.TrimPrefix(sym, "type:")
	sym = strings.TrimPrefix(sym, "*")
	// Cut at the first dot after the last slash.
	slash := strings.LastIndex(sym, "/")
	rest := sym[slash+1:]
	if i := strings.IndexAny(rest, ".["); i >= 0 {
		sym = sym[:slash+1+i]
	}
	parts := strings.Split(sym, "/")
	switch {
	case len(parts) >= 3 && strings.Contains(parts[0], "."):
		if parts[0] == "github.com" && parts[1] == "xinit-go" && len(parts) > 3 {
			return strings.Join(parts[:4], "/")
		}
		if parts[0] == "google.golang.org" || parts[0] == "golang.org" {
			return strings.Join(parts[:3], "/")
		}
		return strings.Join(parts[:3], "/")
	case len(parts) >= 2 && strings.Contains(parts[0], "."):
		return strings.Join(parts[:2], "/")
	case sym == "":
		return "(unnamed)"
	}
	if parts[0] == "vendor" || parts[0] == "internal" {
		return "std: " + strings.Join(parts[:min(2, len(parts))], "/")
	}
	return "std: " + parts[0]
}

// benchFromFlags reads the flags the subcommands share.
func benchFromFlags(name string, args []string, stderr io.Writer) (*bench, bool) {
	fs := flag.NewFlagSet("xinit-bench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	xinit := fs.String("xinit", "bin/xinit-go", "xinit-go binary")
	runs := fs.Int("runs", 3, "runs; the median is reported")
	if err := fs.Parse(args); err != nil {
		return nil, false
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "xinit-bench: needs root (PID namespaces)")
		return nil, false
	}
	b := &bench{xinit: *xinit, runs: *runs, out: io.Discard, display: 400 + os.Getpid()%400}
	var err error
	if b.self, err = os.Executable(); err == nil {
		b.xinit, err = filepath.Abs(b.xinit)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	return b, true
}

// subcommands are the benchmarks that are not part of the side-by-side report.
var subcommands = map[string]func(args []string, stdout, stderr io.Writer) int{
	"memory":  memory,
	"sizes":   sizes,
	"soak":    soakBench,
	"signals": signalsOnly,
	"density": densityBench,
}

func firstArg(args []string) string {
	if len(args) < 2 {
		return ""
	}
	return args[1]
}

// signalsOnly runs the side-by-side signal figure alone.
//
//	xinit-bench signals [-xinit bin/xinit-go] [-runs 3]
func signalsOnly(args []string, stdout, stderr io.Writer) int {
	b, ok := benchFromFlags("signals", args, stderr)
	if !ok {
		return 2
	}
	b.out = stdout
	b.signals()
	return 0
}
