package softmax

import (
	"bufio"
	"container/heap"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// hsWantTree is a tree written out by hand: the rows and codes of every
// class's path, from the root down.
type hsWantTree struct {
	rows  [][]int32
	codes [][]uint8
}

func hsCheckTree(t *testing.T, what string, tr *Tree, want hsWantTree) {
	t.Helper()
	if tr.NumClasses() != len(want.rows) {
		t.Fatalf("%s: %d classes, want %d", what, tr.NumClasses(), len(want.rows))
	}
	for c := range want.rows {
		if !slices.Equal(tr.Path(c), want.rows[c]) || !slices.Equal(tr.Code(c), want.codes[c]) {
			t.Errorf("%s: class %d: path %v codes %v, want %v %v",
				what, c, tr.Path(c), tr.Code(c), want.rows[c], want.codes[c])
		}
	}
}

// TestHuffmanTreeByHand checks small trees worked out on paper with
// fastText's construction: leaves in count order, internal node n+j made
// j-th from the two smallest nodes, a tie between a leaf and an internal
// node going to the internal node.
func TestHuffmanTreeByHand(t *testing.T) {
	cases := []struct {
		counts []int64
		want   hsWantTree
	}{
		// n=2: node 2 = (leaf 1, leaf 0).
		{[]int64{1, 1}, hsWantTree{
			[][]int32{{0}, {0}},
			[][]uint8{{1}, {0}},
		}},
		// Node 3 = (2, 1) of count 2; leaf 0 (2) ties with node 3 (2),
		// so node 4 = (node 3, leaf 0).
		{[]int64{2, 1, 1}, hsWantTree{
			[][]int32{{1}, {1, 0}, {1, 0}},
			[][]uint8{{1}, {0, 1}, {0, 0}},
		}},
		// All equal: node 4 = (3, 2), node 5 = (1, 0) because leaf 1 (1)
		// is below node 4 (2), node 6 = (4, 5).
		{[]int64{1, 1, 1, 1}, hsWantTree{
			[][]int32{{2, 1}, {2, 1}, {2, 0}, {2, 0}},
			[][]uint8{{1, 1}, {1, 0}, {0, 1}, {0, 0}},
		}},
		// Node 5 = (4, 3) of count 2; leaf 2 (2) ties with node 5, so
		// node 6 = (node 5, leaf 2) of count 4; node 7 = (leaf 1, node
		// 6) of 7; node 8 = (leaf 0, node 7).
		{[]int64{5, 3, 2, 1, 1}, hsWantTree{
			[][]int32{{3}, {3, 2}, {3, 2, 1}, {3, 2, 1, 0}, {3, 2, 1, 0}},
			[][]uint8{{0}, {1, 0}, {1, 1, 1}, {1, 1, 0, 1}, {1, 1, 0, 0}},
		}},
		// Ties everywhere: node 6 = (5, 4) of 2; leaf 3 (2) ties with it:
		// node 7 = (node 6, leaf 3) of 4; node 8 = (2, 1) of 4; leaf 0 (4)
		// ties with node 7: node 9 = (node 7, node 8) of 8; node 10 =
		// (leaf 0, node 9).
		{[]int64{4, 2, 2, 2, 1, 1}, hsWantTree{
			[][]int32{{4}, {4, 3, 2}, {4, 3, 2}, {4, 3, 1}, {4, 3, 1, 0}, {4, 3, 1, 0}},
			[][]uint8{{0}, {1, 1, 1}, {1, 1, 0}, {1, 0, 1}, {1, 0, 0, 1}, {1, 0, 0, 0}},
		}},
	}
	for _, c := range cases {
		tr, err := NewHuffmanTree(c.counts)
		if err != nil {
			t.Fatalf("NewHuffmanTree(%v): %v", c.counts, err)
		}
		hsCheckTree(t, fmt.Sprint(c.counts), tr, c.want)
		hsCheckKraft(t, fmt.Sprint(c.counts), tr)
	}

	// Unsorted counts are stably sorted first: {1, 5, 1, 3, 2} sorts to
	// classes 1, 3, 4, 0, 2 with counts 5, 3, 2, 1, 1 (class 0 before class
	// 2 among the ties), so each class gets the path of its sorted position
	// in the tree above.
	tr, err := NewHuffmanTree([]int64{1, 5, 1, 3, 2})
	if err != nil {
		t.Fatal(err)
	}
	sorted := cases[3].want
	perm := []int{1, 3, 4, 0, 2}
	var want hsWantTree
	want.rows, want.codes = make([][]int32, 5), make([][]uint8, 5)
	for pos, c := range perm {
		want.rows[c], want.codes[c] = sorted.rows[pos], sorted.codes[pos]
	}
	hsCheckTree(t, "unsorted", tr, want)
}

// hsFastTextTree is fastText's HierarchicalSoftmaxLoss::buildTree (and
// word2vec's CreateBinaryTree), transcribed as literally as Go allows,
// including the sentinel count of 1e15 for internal nodes not yet made.
// It returns each class's path from the root down.
func hsFastTextTree(counts []int64) (paths [][]int32, codes [][]uint8) {
	n := len(counts)
	type node struct {
		parent, left, right int
		count               int64
		binary              bool
	}
	tree := make([]node, 2*n-1)
	for i := range tree {
		tree[i] = node{parent: -1, left: -1, right: -1, count: 1e15}
	}
	for i := 0; i < n; i++ {
		tree[i].count = counts[i]
	}
	leaf, nd := n-1, n
	for i := n; i < 2*n-1; i++ {
		var mini [2]int
		for j := 0; j < 2; j++ {
			if leaf >= 0 && tree[leaf].count < tree[nd].count {
				mini[j] = leaf
				leaf--
			} else {
				mini[j] = nd
				nd++
			}
		}
		tree[i].left, tree[i].right = mini[0], mini[1]
		tree[i].count = tree[mini[0]].count + tree[mini[1]].count
		tree[mini[0]].parent, tree[mini[1]].parent = i, i
		tree[mini[1]].binary = true
	}
	for i := 0; i < n; i++ {
		var path []int32
		var code []uint8
		for j := i; tree[j].parent != -1; j = tree[j].parent {
			path = append(path, int32(tree[j].parent-n))
			b := uint8(0)
			if tree[j].binary {
				b = 1
			}
			code = append(code, b)
		}
		slices.Reverse(path)
		slices.Reverse(code)
		paths, codes = append(paths, path), append(codes, code)
	}
	return paths, codes
}

// TestHuffmanMatchesFastText compares the tree node for node with the
// transcription of fastText's construction, on descending counts with
// many ties and with none.
func TestHuffmanMatchesFastText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 4, 5, 8, 31, 100, 1000, 5000} {
		for _, spread := range []int64{1, 3, 1000, 1 << 40} {
			counts := make([]int64, n)
			for i := range counts {
				counts[i] = 1 + rng.Int64N(spread)
			}
			slices.SortFunc(counts, func(a, b int64) int { return hsCompareDesc(a, b) })
			tr, err := NewHuffmanTree(counts)
			if err != nil {
				t.Fatal(err)
			}
			paths, codes := hsFastTextTree(counts)
			what := fmt.Sprintf("n=%d spread=%d", n, spread)
			hsCheckTree(t, what, tr, hsWantTree{paths, codes})
			inOrder, err := NewHuffmanTreeInOrder(counts)
			if err != nil {
				t.Fatal(err)
			}
			hsCheckTree(t, what+" in order", inOrder, hsWantTree{paths, codes})

			// Out of order, as word2vec's vocabulary is when </s> (kept
			// first) is not the most frequent word, and shuffled.
			counts[0] = 1 + rng.Int64N(spread)
			paths, codes = hsFastTextTree(counts)
			inOrder, _ = NewHuffmanTreeInOrder(counts)
			hsCheckTree(t, what+" </s> first", inOrder, hsWantTree{paths, codes})
			hsCheckKraft(t, what+" </s> first", inOrder)
			rng.Shuffle(n, func(i, j int) { counts[i], counts[j] = counts[j], counts[i] })
			paths, codes = hsFastTextTree(counts)
			inOrder, _ = NewHuffmanTreeInOrder(counts)
			hsCheckTree(t, what+" shuffled", inOrder, hsWantTree{paths, codes})
			hsCheckKraft(t, what+" shuffled", inOrder)
		}
	}
}

// hsHuffmanCost returns the total cost sum(count·code length) of an optimal
// prefix code, computed independently with a priority queue: the cost is
// the sum of the weights of all merged nodes.
func hsHuffmanCost(counts []int64) *big.Int {
	q := &hsInt64Heap{}
	for _, c := range counts {
		heap.Push(q, c)
	}
	cost := new(big.Int)
	for q.Len() > 1 {
		a, b := heap.Pop(q).(int64), heap.Pop(q).(int64)
		cost.Add(cost, big.NewInt(a+b))
		heap.Push(q, a+b)
	}
	return cost
}

type hsInt64Heap []int64

func (h hsInt64Heap) Len() int           { return len(h) }
func (h hsInt64Heap) Less(i, j int) bool { return h[i] < h[j] }
func (h hsInt64Heap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hsInt64Heap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *hsInt64Heap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// hsCheckKraft checks the Kraft equality sum(2^-depth) = 1, exactly: the
// code lengths of a full binary tree, and of no tree with a missing branch.
func hsCheckKraft(t *testing.T, what string, tr *Tree) {
	t.Helper()
	maxDepth := 0
	for c := 0; c < tr.NumClasses(); c++ {
		if tr.Depth(c) != len(tr.Path(c)) || tr.Depth(c) != len(tr.Code(c)) {
			t.Fatalf("%s: class %d: Depth %d, path %d, code %d", what, c,
				tr.Depth(c), len(tr.Path(c)), len(tr.Code(c)))
		}
		maxDepth = max(maxDepth, tr.Depth(c))
	}
	if maxDepth != tr.MaxDepth() {
		t.Errorf("%s: MaxDepth = %d, want %d", what, tr.MaxDepth(), maxDepth)
	}
	sum := new(big.Int)
	for c := 0; c < tr.NumClasses(); c++ {
		sum.Add(sum, new(big.Int).Lsh(big.NewInt(1), uint(maxDepth-tr.Depth(c))))
	}
	if want := new(big.Int).Lsh(big.NewInt(1), uint(maxDepth)); sum.Cmp(want) != 0 {
		t.Errorf("%s: sum of 2^-depth = %v/%v, want 1", what, sum, want)
	}
}

// TestHuffmanOptimal checks that the code lengths are those of an optimal
// prefix code, on sorted and unsorted counts.
func TestHuffmanOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{2, 3, 7, 64, 1000, 20000} {
		for _, spread := range []int64{1, 5, 1 << 20} {
			counts := make([]int64, n)
			for i := range counts {
				counts[i] = 1 + rng.Int64N(spread)
			}
			what := fmt.Sprintf("n=%d spread=%d", n, spread)
			tr, err := NewHuffmanTree(counts)
			if err != nil {
				t.Fatal(err)
			}
			cost := new(big.Int)
			for c, k := range counts {
				cost.Add(cost, new(big.Int).Mul(big.NewInt(k), big.NewInt(int64(tr.Depth(c)))))
			}
			if want := hsHuffmanCost(counts); cost.Cmp(want) != 0 {
				t.Errorf("%s: cost %v, optimal %v", what, cost, want)
			}
			hsCheckKraft(t, what, tr)
		}
	}

	// Counts doubling from class to class give the deepest tree: depth n-1.
	counts := make([]int64, 60)
	for i := range counts {
		counts[i] = 1 << i
	}
	tr, err := NewHuffmanTree(counts)
	if err != nil {
		t.Fatal(err)
	}
	if tr.MaxDepth() != 59 || tr.Depth(59) != 1 {
		t.Errorf("powers of two: MaxDepth %d, Depth(59) %d; want 59 and 1",
			tr.MaxDepth(), tr.Depth(59))
	}
	hsCheckKraft(t, "powers of two", tr)
}

func TestBalancedTree(t *testing.T) {
	for n := 2; n <= 300; n++ {
		tr, err := NewBalancedTree(n)
		if err != nil {
			t.Fatal(err)
		}
		lo := 0
		for 1<<(lo+1) <= n {
			lo++
		}
		for c := 0; c < n; c++ {
			if d := tr.Depth(c); d != lo && d != lo+1 {
				t.Fatalf("n=%d: class %d has depth %d, want %d or %d", n, c, d, lo, lo+1)
			}
		}
		if tr.Root() != 0 {
			t.Fatalf("n=%d: root %d, want 0", n, tr.Root())
		}
		hsCheckKraft(t, fmt.Sprintf("balanced n=%d", n), tr)
	}

	// n=5 by hand: heap nodes 0..3 are rows, 4..8 are classes 0..4; node
	// i has children 2i+1 (code 0) and 2i+2 (code 1).
	tr, _ := NewBalancedTree(5)
	hsCheckTree(t, "balanced 5", tr, hsWantTree{
		[][]int32{{0, 1}, {0, 2}, {0, 2}, {0, 1, 3}, {0, 1, 3}},
		[][]uint8{{0, 1}, {1, 0}, {1, 1}, {0, 0, 0}, {0, 0, 1}},
	})
}

// hsRandomTree returns a random full binary tree over n classes, with the
// rows and the classes numbered at random, by the paths that describe it.
func hsRandomTree(rng *rand.Rand, n int) (paths [][]int32, codes [][]uint8) {
	// Join random pairs of subtrees until one is left; subtree i is a
	// class if nodes[i] < 0 and a row otherwise.
	rowNumbers := rng.Perm(n - 1)
	classes := rng.Perm(n)
	nodes := make([]int32, n)
	for i := range nodes {
		nodes[i] = ^int32(classes[i])
	}
	child := make([]int32, 2*(n-1))
	for j := 0; len(nodes) > 1; j++ {
		a := rng.IntN(len(nodes))
		nodes[a], nodes[len(nodes)-1] = nodes[len(nodes)-1], nodes[a]
		b := rng.IntN(len(nodes) - 1)
		nodes[b], nodes[len(nodes)-2] = nodes[len(nodes)-2], nodes[b]
		r := int32(rowNumbers[j])
		child[2*r], child[2*r+1] = nodes[len(nodes)-1], nodes[len(nodes)-2]
		nodes = append(nodes[:len(nodes)-2], r)
	}
	paths, codes = make([][]int32, n), make([][]uint8, n)
	var walk func(v int32, path []int32, code []uint8)
	walk = func(v int32, path []int32, code []uint8) {
		if v < 0 {
			paths[^v], codes[^v] = slices.Clone(path), slices.Clone(code)
			return
		}
		walk(child[2*v], append(path, v), append(code, 0))
		walk(child[2*v+1], append(path, v), append(code, 1))
	}
	walk(nodes[0], nil, nil)
	return paths, codes
}

// TestNewTree checks that a described tree has the paths it was described
// with, and that describing a built tree gives it back.
func TestNewTree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{2, 3, 4, 9, 100, 1000} {
		paths, codes := hsRandomTree(rng, n)
		tr, err := NewTree(paths, codes)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		hsCheckTree(t, fmt.Sprintf("random n=%d", n), tr, hsWantTree{paths, codes})
		hsCheckKraft(t, fmt.Sprintf("random n=%d", n), tr)
		for r := 0; r < tr.Rows(); r++ {
			for b := uint8(0); b < 2; b++ {
				v, leaf := tr.Child(r, b)
				var p []int32
				var c []uint8
				if leaf {
					p, c = tr.Path(v), tr.Code(v)
				} else {
					p, c = tr.Path(hsFirstClassUnder(tr, v)), tr.Code(hsFirstClassUnder(tr, v))
				}
				i := slices.Index(p, int32(r))
				if i < 0 || c[i] != b || (leaf && i != len(p)-1) || (!leaf && p[i+1] != int32(v)) {
					t.Fatalf("n=%d: Child(%d, %d) = %d, %v disagrees with the paths", n, r, b, v, leaf)
				}
			}
		}
	}

	huff, _ := NewHuffmanTree([]int64{9, 7, 7, 4, 3, 3, 3, 1})
	bal, _ := NewBalancedTree(11)
	for _, tr := range []*Tree{huff, bal} {
		paths, codes := make([][]int32, tr.NumClasses()), make([][]uint8, tr.NumClasses())
		for c := range paths {
			paths[c], codes[c] = tr.Path(c), tr.Code(c)
		}
		again, err := NewTree(paths, codes)
		if err != nil {
			t.Fatal(err)
		}
		hsCheckTree(t, "described again", again, hsWantTree{paths, codes})
		if again.Root() != tr.Root() {
			t.Errorf("root %d, want %d", again.Root(), tr.Root())
		}
	}
}

// hsFirstClassUnder returns a class in the subtree of row r.
func hsFirstClassUnder(tr *Tree, r int) int {
	for {
		v, leaf := tr.Child(r, 0)
		if leaf {
			return v
		}
		r = v
	}
}

// TestTreeErrors checks that every kind of bad input is an error, not a
// panic, and that the error says what is wrong.
func TestTreeErrors(t *testing.T) {
	huffman := func(c ...int64) func() (*Tree, error) {
		return func() (*Tree, error) { return NewHuffmanTree(c) }
	}
	inOrder := func(c ...int64) func() (*Tree, error) {
		return func() (*Tree, error) { return NewHuffmanTreeInOrder(c) }
	}
	balanced := func(n int) func() (*Tree, error) {
		return func() (*Tree, error) { return NewBalancedTree(n) }
	}
	cases := []struct {
		name string
		make func() (*Tree, error)
		want string
	}{
		{"huffman no classes", huffman(), "at least 2"},
		{"huffman one class", huffman(3), "at least 2"},
		{"huffman zero count", huffman(3, 0, 1), "counts[1] = 0"},
		{"huffman negative count", huffman(-3, 2), "counts[0] = -3"},
		{"huffman overflow", huffman(math.MaxInt64-1, 2), "overflows"},
		{"in order one class", inOrder(3), "at least 2"},
		{"in order zero count", inOrder(3, 1, 0), "counts[2] = 0"},
		{"balanced one class", balanced(1), "at least 2"},
		{"balanced negative", balanced(-4), "at least 2"},
		{"balanced too many", balanced(math.MaxInt32), "at most"},
		{"described one class", func() (*Tree, error) {
			return NewTree([][]int32{{}}, [][]uint8{{}})
		}, "at least 2"},
		{"described code lists", func() (*Tree, error) {
			return NewTree([][]int32{{0}, {0}}, [][]uint8{{0}})
		}, "code lists"},
		{"described code length", func() (*Tree, error) {
			return NewTree([][]int32{{0}, {0}}, [][]uint8{{0}, {1, 0}})
		}, "codes"},
		{"described row out of range", func() (*Tree, error) {
			return NewTree([][]int32{{0}, {1}}, [][]uint8{{0}, {1}})
		}, "not a row"},
		{"described bad code", func() (*Tree, error) {
			return NewTree([][]int32{{0}, {0}}, [][]uint8{{0}, {2}})
		}, "codes are 0 or 1"},
		{"unreachable leaf: empty path", func() (*Tree, error) {
			return NewTree([][]int32{{0, 1}, {0, 1}, {}}, [][]uint8{{0, 0}, {0, 1}, {}})
		}, "class 2 cannot be reached"},
		{"unreachable leaf: second root", func() (*Tree, error) {
			return NewTree([][]int32{{0}, {0}, {1}}, [][]uint8{{0}, {1}, {0}})
		}, "one root"},
		{"cycle within a path", func() (*Tree, error) {
			return NewTree([][]int32{{0, 1, 0}, {0, 1}, {0}}, [][]uint8{{0, 1, 0}, {0, 0}, {1}})
		}, "cycles"},
		{"cycle through the root", func() (*Tree, error) {
			return NewTree([][]int32{{0, 1}, {0, 1}, {1, 0}}, [][]uint8{{0, 1}, {0, 0}, {0, 0}})
		}, "one root"},
		{"cycle below the root", func() (*Tree, error) {
			return NewTree([][]int32{{0, 1, 2}, {0, 2, 1}, {0}, {0, 1}},
				[][]uint8{{0, 0, 0}, {0, 0, 0}, {1}, {0, 1}})
		}, "two parents"},
		{"two parents", func() (*Tree, error) {
			return NewTree([][]int32{{0, 1}, {0, 1}, {0, 2, 1}, {0, 2}},
				[][]uint8{{0, 0}, {0, 1}, {1, 0, 0}, {1, 1}})
		}, "row 1 has two parents"},
		{"two classes in one place", func() (*Tree, error) {
			return NewTree([][]int32{{0}, {0}, {0, 1}}, [][]uint8{{0}, {0}, {1, 0}})
		}, "is both class 0 and class 1"},
		{"a class where a row is", func() (*Tree, error) {
			return NewTree([][]int32{{0}, {0, 1}, {0, 1}}, [][]uint8{{0}, {0, 0}, {0, 1}})
		}, "is both class 0 and row 1"},
		{"two rows in one place", func() (*Tree, error) {
			return NewTree([][]int32{{0}, {0, 1}, {0, 2}, {0, 2}},
				[][]uint8{{0}, {1, 0}, {1, 0}, {1, 1}})
		}, "is both row 1 and row 2"},
		// Row 2 is on no path: then, by counting, two nodes must share a
		// place, and that is the error.
		{"a row on no path", func() (*Tree, error) {
			return NewTree([][]int32{{0, 1}, {0, 1}, {0}, {0}}, [][]uint8{{0, 0}, {0, 1}, {1}, {1}})
		}, "both class 2 and class 3"},
	}
	for _, tc := range cases {
		var tr *Tree
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v; want an error", tc.name, r)
				}
			}()
			tr, err = tc.make()
		}()
		switch {
		case err == nil:
			t.Errorf("%s: no error; want one mentioning %q", tc.name, tc.want)
		case tr != nil:
			t.Errorf("%s: a tree with the error %v", tc.name, err)
		case !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "softmax.New"):
			t.Errorf("%s: error %q; want one naming the constructor and mentioning %q",
				tc.name, err, tc.want)
		}
	}

	tr, _ := NewBalancedTree(4)
	for _, bad := range []struct {
		dim     int
		weights []float32
		want    string
	}{
		{0, nil, "dim = 0"},
		{-2, make([]float32, 6), "dim = -2"},
		{2, make([]float32, 5), "len(weights) = 5, want 3 rows × 2 = 6"},
		{2, make([]float32, 8), "len(weights) = 8"},
	} {
		if _, err := NewHierarchical(tr, bad.dim, bad.weights); err == nil ||
			!strings.Contains(err.Error(), bad.want) {
			t.Errorf("NewHierarchical(dim %d, %d weights): error %v; want %q",
				bad.dim, len(bad.weights), err, bad.want)
		}
	}
	if _, err := NewHierarchical[float64](nil, 2, nil); err == nil {
		t.Error("NewHierarchical(nil tree): no error")
	}
	if _, err := NewHierarchical(tr, math.MaxInt/2, make([]float64, 0)); err == nil {
		t.Error("NewHierarchical(huge dim): no error")
	}
}

// hsTestModel returns a model over tr with weights drawn so that the
// scores w·h of a standard normal h have standard deviation scale.
func hsTestModel[F Float](rng *rand.Rand, tr *Tree, dim int, scale float64) *Hierarchical[F] {
	w := randomLogits[F](rng, tr.Rows()*dim, scale/math.Sqrt(float64(dim)))
	m, err := NewHierarchical(tr, dim, w)
	if err != nil {
		panic(err)
	}
	return m
}

// hsZipfCounts returns counts proportional to 1/(rank+1), like a vocabulary.
func hsZipfCounts(n int) []int64 {
	counts := make([]int64, n)
	for i := range counts {
		counts[i] = int64(math.Ceil(1e7 / float64(i+1)))
	}
	return counts
}

// hsTrees returns trees of every kind over n classes.
func hsTrees(rng *rand.Rand, n int) map[string]*Tree {
	trees := map[string]*Tree{}
	var err error
	if trees["huffman"], err = NewHuffmanTree(hsZipfCounts(n)); err != nil {
		panic(err)
	}
	if trees["balanced"], err = NewBalancedTree(n); err != nil {
		panic(err)
	}
	if n <= 5000 {
		if trees["random"], err = NewTree(hsRandomTree(rng, n)); err != nil {
			panic(err)
		}
	}
	return trees
}

func TestHierarchicalSumsToOne(t *testing.T) {
	t.Run("float32", hsSumsToOne[float32])
	t.Run("float64", hsSumsToOne[float64])
}

// hsSumsToOne checks that the probabilities from LogProbs sum
// to 1 and agree with LogProb.
func hsSumsToOne[F Float](t *testing.T) {
	// LogProbs takes its scores from one gemv and LogProb from dot
	// products, which may round differently: agree allows for that.
	tol, agree := 1e-5, 1e-5
	if !is32[F]() {
		tol, agree = 1e-12, 1e-12
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const dim = 8
	for _, n := range []int{2, 3, 10, 1000, 100000} {
		for name, tr := range hsTrees(rng, n) {
			for _, scale := range []float64{0.5, 4, 40} {
				what := fmt.Sprintf("%s n=%d scale=%g", name, n, scale)
				m := hsTestModel[F](rng, tr, dim, scale)
				h := randomLogits[F](rng, dim, 1)
				lp := make([]F, n)
				m.LogProbs(lp, h)
				var sum neumaier
				for _, v := range lp {
					sum.add(math.Exp(float64(v)))
				}
				if math.Abs(sum.total()-1) > tol {
					t.Errorf("%s: probabilities sum to 1%+g", what, sum.total()-1)
				}
				for i := 0; i < 50; i++ {
					c := rng.IntN(n)
					if i < n {
						c = i
					}
					one := float64(m.LogProb(h, c))
					if d := math.Abs(one - float64(lp[c])); d > agree*max(1, math.Abs(one)) {
						t.Fatalf("%s: LogProb(%d) = %g, LogProbs gives %g", what, c, one, lp[c])
					}
				}
			}
		}
	}
}

// TestLogSigmoid checks the log-sigmoid through identities that hold for
// every x, log sigmoid(x) - log sigmoid(-x) = x and sigmoid(x) +
// sigmoid(-x) = 1, and against its asymptote -exp(-x) where 1 + exp(-x)
// would lose the answer, and checks that the gradients of the two codes
// are opposite.
func TestLogSigmoid(t *testing.T) {
	for _, x := range []float64{0, 1e-300, 1e-8, 0.5, 1, 3, 20, 36, 40, 700, 800, 1e308} {
		a, b := hsLogSigmoid(x), hsLogSigmoid(-x)
		if d := a - b; math.Abs(d-x) > 1e-15*max(1, x) {
			t.Errorf("logSigmoid(%g) - logSigmoid(%g) = %g", x, -x, d)
		}
		if s := math.Exp(a) + math.Exp(b); math.Abs(s-1) > 2e-16 {
			t.Errorf("sigmoid(%g) + sigmoid(%g) = 1%+g", x, -x, s-1)
		}
		if x >= 36 {
			if want := -math.Exp(-x); math.Abs(a-want) > 1e-15*math.Abs(want) {
				t.Errorf("logSigmoid(%g) = %g, want %g", x, a, want)
			}
		}
		for _, s := range []float64{x, -x} {
			c0, c1 := hsLogSigmoidBoth(s)
			if math.Float64bits(c0) != math.Float64bits(hsLogSigmoidCode(s, 0)) ||
				math.Float64bits(c1) != math.Float64bits(hsLogSigmoidCode(s, 1)) {
				t.Errorf("logSigmoidBoth(%g) = %g, %g; one at a time %g, %g", s, c0, c1,
					hsLogSigmoidCode(s, 0), hsLogSigmoidCode(s, 1))
			}
		}
		if a > 0 || b > 0 {
			t.Errorf("logSigmoid(±%g) = %g, %g; it is never positive", x, a, b)
		}
		for _, s := range []float64{x, -x} {
			if g := hsScoreGradient(s, 1) + hsScoreGradient(-s, 0); g != 0 {
				t.Errorf("gradient at %g: code 1 %g and code 0 at -s %g are not opposite",
					s, hsScoreGradient(s, 1), hsScoreGradient(-s, 0))
			}
			if g := hsScoreGradient(s, 0) - hsScoreGradient(s, 1); math.Abs(g-1) > 4.5e-16 {
				t.Errorf("gradient at %g: codes 0 and 1 differ by %g, want 1", s, g)
			}
		}
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for i := 0; i < 100000; i++ {
		s := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(8)-3))
		c0, c1 := hsLogSigmoidBoth(s)
		if math.Float64bits(c0) != math.Float64bits(hsLogSigmoidCode(s, 0)) ||
			math.Float64bits(c1) != math.Float64bits(hsLogSigmoidCode(s, 1)) {
			t.Fatalf("logSigmoidBoth(%g) = %g, %g; one at a time %g, %g", s, c0, c1,
				hsLogSigmoidCode(s, 0), hsLogSigmoidCode(s, 1))
		}
	}
	for _, s := range []float64{math.Inf(1), math.Inf(-1), math.NaN()} {
		c0, c1 := hsLogSigmoidBoth(s)
		if !hsSameFloat(c0, hsLogSigmoidCode(s, 0)) || !hsSameFloat(c1, hsLogSigmoidCode(s, 1)) {
			t.Errorf("logSigmoidBoth(%g) = %g, %g; one at a time %g, %g", s, c0, c1,
				hsLogSigmoidCode(s, 0), hsLogSigmoidCode(s, 1))
		}
	}
	if v := hsLogSigmoid(math.Inf(-1)); !math.IsInf(v, -1) {
		t.Errorf("logSigmoid(-Inf) = %g", v)
	}
	if v := hsLogSigmoid(math.Inf(1)); v != 0 {
		t.Errorf("logSigmoid(+Inf) = %g", v)
	}
	if v := hsLogSigmoid(math.NaN()); v == v {
		t.Errorf("logSigmoid(NaN) = %g", v)
	}
}

// hsSameFloat reports whether a and b are the same number, NaN equal to NaN.
func hsSameFloat(a, b float64) bool { return a == b || (a != a && b != b) }

// hsBruteTopK scores every class with LogProb and sorts them, best first,
// ties in increasing class order.
func hsBruteTopK[F Float](m *Hierarchical[F], h []F) ([]int, []F) {
	n := m.Tree().NumClasses()
	classes := make([]int, n)
	lp := make([]F, n)
	for c := range classes {
		classes[c], lp[c] = c, m.LogProb(h, c)
	}
	slices.SortStableFunc(classes, func(a, b int) int {
		switch {
		case lp[a] > lp[b]:
			return -1
		case lp[a] < lp[b]:
			return 1
		}
		return 0
	})
	sorted := make([]F, n)
	for i, c := range classes {
		sorted[i] = lp[c]
	}
	return classes, sorted
}

func TestTopKBruteForce(t *testing.T) {
	t.Run("float32", hsTopKBruteForce[float32])
	t.Run("float64", hsTopKBruteForce[float64])
}

// hsTopKBruteForce checks TopK against scoring every class, for every k
// from 1 to n+1, on random trees and weights, including weights that make
// many classes exactly equally probable.
func hsTopKBruteForce[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const dim = 5
	for _, n := range []int{2, 3, 5, 8, 17, 100, 300} {
		for name, tr := range hsTrees(rng, n) {
			for _, scale := range []float64{0, 1, 4, 1e4} {
				m := hsTestModel[F](rng, tr, dim, scale)
				for trial := 0; trial < 3; trial++ {
					h := randomLogits[F](rng, dim, 1)
					wantC, wantLP := hsBruteTopK(m, h)
					for k := 1; k <= n+1; k++ {
						what := fmt.Sprintf("%s n=%d scale=%g k=%d", name, n, scale, k)
						classes := make([]int, k)
						lp := make([]F, k)
						got := m.TopK(classes, lp, h)
						if got != min(k, n) {
							t.Fatalf("%s: TopK returned %d", what, got)
						}
						if !slices.Equal(classes[:got], wantC[:got]) ||
							!slices.Equal(lp[:got], wantLP[:got]) {
							t.Fatalf("%s:\n got %v %v\nwant %v %v", what,
								classes[:got], lp[:got], wantC[:got], wantLP[:got])
						}
						classesOnly := make([]int, k)
						if m.TopK(classesOnly, nil, h) != got || !slices.Equal(classesOnly, classes) {
							t.Fatalf("%s: TopK without log-probabilities differs", what)
						}
					}
				}
			}
		}
	}

	// With zero weights every decision is a coin toss, and in a balanced
	// tree over 16 classes every class has probability 1/16 exactly: the
	// top k are classes 0..k-1.
	tr, _ := NewBalancedTree(16)
	m, _ := NewHierarchical(tr, 3, make([]F, 15*3))
	classes := make([]int, 16)
	lp := make([]F, 16)
	m.TopK(classes, lp, []F{1, 2, 3})
	for i := range classes {
		if classes[i] != i || math.Abs(float64(lp[i])+math.Log(16)) > 1e-6 {
			t.Fatalf("ties: got %v %v", classes, lp)
		}
	}
	if m.TopK(nil, nil, []F{1, 2, 3}) != 0 {
		t.Error("TopK with k = 0 wrote something")
	}
}

// TestTopKSpecialValues checks that TopK ends, and reports NaN, on a NaN
// hidden vector, and handles infinite scores.
func TestTopKSpecialValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tr, _ := NewHuffmanTree(hsZipfCounts(50))
	m := hsTestModel[float64](rng, tr, 4, 4)
	classes := make([]int, 60)
	lp := make([]float64, 60)
	if got := m.TopK(classes, lp, []float64{math.NaN(), 0, 0, 0}); got != 50 {
		t.Fatalf("NaN: TopK returned %d", got)
	}
	seen := map[int]bool{}
	for i := 0; i < 50; i++ {
		if lp[i] == lp[i] || seen[classes[i]] {
			t.Fatalf("NaN: class %d log-probability %g (seen before: %v)",
				classes[i], lp[i], seen[classes[i]])
		}
		seen[classes[i]] = true
	}
	if got := m.TopK(classes, lp, []float64{math.Inf(1), 0, 0, 0}); got != 50 {
		t.Fatalf("Inf: TopK returned %d", got)
	}
}

// TestGradientsFiniteDifferences checks Loss's gradients against central
// differences of LogProb, and Step against Loss.
func TestGradientsFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const dim = 6
	for name, tr := range hsTrees(rng, 40) {
		m := hsTestModel[float64](rng, tr, dim, 3)
		w := m.Weights()
		for _, class := range []int{0, 7, 39} {
			h := randomLogits[float64](rng, dim, 1)
			dh := make([]float64, dim)
			coef := make([]float64, tr.MaxDepth())
			loss := m.Loss(h, class, dh, coef)
			if want := -m.LogProb(h, class); math.Abs(loss-want) > 1e-14*max(1, want) {
				t.Errorf("%s class %d: loss %g, -LogProb %g", name, class, loss, want)
			}
			lossAt := func() float64 { return -m.LogProb(h, class) }
			const eps = 1e-6
			fd := func(x *float64) float64 {
				old := *x
				*x = old + eps
				up := lossAt()
				*x = old - eps
				down := lossAt()
				*x = old
				return (up - down) / (2 * eps)
			}
			for j := range h {
				if g := fd(&h[j]); math.Abs(g-dh[j]) > 1e-7 {
					t.Errorf("%s class %d: dh[%d] = %g, finite difference %g", name, class, j, dh[j], g)
				}
			}
			path := tr.Path(class)
			for r := 0; r < tr.Rows(); r++ {
				i := slices.Index(path, int32(r))
				for j := 0; j < dim; j++ {
					want := 0.0
					if i >= 0 {
						want = coef[i] * h[j]
					}
					if g := fd(&w[r*dim+j]); math.Abs(g-want) > 1e-7 {
						t.Fatalf("%s class %d: gradient of w[%d][%d] = %g, finite difference %g",
							name, class, r, j, want, g)
					}
				}
			}

			// Step: the same loss, dh accumulated (not overwritten), the
			// path rows moved by -lr·coef·h, every other row untouched.
			before := slices.Clone(w)
			dh2 := make([]float64, dim)
			dh2[0] = 1
			const lr = 0.25
			if got := m.Step(h, class, lr, dh2); got != loss {
				t.Errorf("%s class %d: Step loss %g, Loss %g", name, class, got, loss)
			}
			for j := range dh2 {
				want := dh[j]
				if j == 0 {
					want++
				}
				if math.Abs(dh2[j]-want) > 1e-14 {
					t.Errorf("%s class %d: Step dh[%d] = %g, want %g", name, class, j, dh2[j], want)
				}
			}
			for r := 0; r < tr.Rows(); r++ {
				i := slices.Index(path, int32(r))
				for j := 0; j < dim; j++ {
					want := before[r*dim+j]
					if i >= 0 {
						want -= lr * coef[i] * h[j]
					}
					if got := w[r*dim+j]; math.Abs(got-want) > 1e-15 {
						t.Fatalf("%s class %d: after Step w[%d][%d] = %g, want %g",
							name, class, r, j, got, want)
					}
				}
			}
			if m.Step(h, class, lr, nil) >= loss {
				t.Errorf("%s class %d: the loss did not fall after a step", name, class)
			}
		}
	}
}

// TestStepTrains checks that Step learns: float32 training on a small
// problem, where the class is a function of the hidden vector, drives the
// loss down and gets TopK right.
func TestStepTrains(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const n, dim = 12, 12
	tr, _ := NewHuffmanTree([]int64{40, 30, 20, 20, 10, 8, 8, 5, 3, 2, 1, 1})
	m, _ := NewHierarchical(tr, dim, make([]float32, tr.Rows()*dim))
	// Class c's inputs are near the unit vector e_c.
	sample := func() ([]float32, int) {
		c := rng.IntN(n)
		h := randomLogits[float32](rng, dim, 0.1)
		h[c] += 1
		return h, c
	}
	first, last := 0.0, 0.0
	for epoch := 0; epoch < 20; epoch++ {
		total := 0.0
		for i := 0; i < 200; i++ {
			h, c := sample()
			total += float64(m.Step(h, c, 0.5, nil))
		}
		if epoch == 0 {
			first = total
		}
		last = total
	}
	if last > first/5 {
		t.Errorf("loss per epoch went from %g to %g", first, last)
	}
	top := make([]int, 1)
	for i := 0; i < 100; i++ {
		h, c := sample()
		if m.TopK(top, nil, h); top[0] != c {
			t.Errorf("after training, the best class for class %d's input is %d", c, top[0])
		}
	}
}

func TestHierarchicalPanics(t *testing.T) {
	tr, _ := NewBalancedTree(5)
	m, _ := NewHierarchical(tr, 3, make([]float32, 12))
	h, h2 := make([]float32, 3), make([]float32, 2)
	assertPanics(t, "Hierarchical.LogProb", func() { m.LogProb(h, 5) })
	assertPanics(t, "Hierarchical.LogProb", func() { m.LogProb(h, -1) })
	assertPanics(t, "Hierarchical.LogProb", func() { m.LogProb(h2, 0) })
	assertPanics(t, "Hierarchical.LogProbs", func() { m.LogProbs(make([]float32, 4), h) })
	assertPanics(t, "Hierarchical.LogProbs", func() { m.LogProbs(make([]float32, 5), h2) })
	assertPanics(t, "Hierarchical.TopK", func() { m.TopK(make([]int, 2), make([]float32, 3), h) })
	assertPanics(t, "Hierarchical.TopK", func() { m.TopK(make([]int, 2), nil, h2) })
	assertPanics(t, "Hierarchical.Loss", func() { m.Loss(h, 7, nil, nil) })
	assertPanics(t, "Hierarchical.Loss", func() { m.Loss(h2, 0, nil, nil) })
	assertPanics(t, "Hierarchical.Loss", func() { m.Loss(h, 0, h2, nil) })
	assertPanics(t, "Hierarchical.Loss", func() { m.Loss(h, 3, nil, make([]float32, 2)) })
	assertPanics(t, "Hierarchical.Step", func() { m.Step(h, 5, 0.1, nil) })
	assertPanics(t, "Hierarchical.Step", func() { m.Step(h2, 0, 0.1, nil) })
	assertPanics(t, "Hierarchical.Step", func() { m.Step(h, 0, 0.1, h2) })
	assertPanics(t, "Tree.Path", func() { tr.Path(5) })
	assertPanics(t, "Tree.Code", func() { tr.Code(-1) })
	assertPanics(t, "Tree.Depth", func() { tr.Depth(9) })
	assertPanics(t, "Tree.Child", func() { tr.Child(4, 0) })
	assertPanics(t, "Tree.Child", func() { tr.Child(0, 2) })
}

// TestHierarchicalZeroAllocations shows that inference and training do not
// allocate in steady state.
func TestHierarchicalZeroAllocations(t *testing.T) {
	t.Run("float32", hsZeroAllocations[float32])
	t.Run("float64", hsZeroAllocations[float64])
}

func hsZeroAllocations[F Float](t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	const n, dim = 5000, 16
	tr, _ := NewHuffmanTree(hsZipfCounts(n))
	m := hsTestModel[F](rng, tr, dim, 4)
	h := randomLogits[F](rng, dim, 1)
	dh := make([]F, dim)
	coef := make([]F, tr.MaxDepth())
	lp := make([]F, n)
	classes := make([]int, 50)
	top := make([]F, 50)
	all := make([]int, n)
	pooled := map[string]bool{"LogProbs": true, "TopK": true, "TopK of all n": true}
	for name, f := range map[string]func(){
		"LogProb":       func() { m.LogProb(h, 4321) },
		"LogProbs":      func() { m.LogProbs(lp, h) },
		"TopK":          func() { m.TopK(classes, top, h) },
		"TopK of all n": func() { m.TopK(all, nil, h) },
		"Loss":          func() { m.Loss(h, 17, dh, coef) },
		"Step":          func() { m.Step(h, 4000, 1e-3, dh) },
	} {
		if raceEnabled && pooled[name] {
			continue // see raceEnabled
		}
		if a := testing.AllocsPerRun(20, f); a != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, a)
		}
	}
}

// The fastText test data: see testdata/fasttext/README.md.

type hsFastTextData struct {
	labels      []string
	counts      []int64
	dim         int
	output      []float32 // the whole output matrix, one row per label
	vectors     [][]float32
	predictions [][]hsFastTextPrediction
}

type hsFastTextPrediction struct {
	label int
	prob  float64
}

func hsReadFastTextData(t *testing.T) *hsFastTextData {
	t.Helper()
	dir := filepath.Join("testdata", "fasttext")
	lines := func(name string) [][]string {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out [][]string
		s := bufio.NewScanner(f)
		s.Buffer(nil, 1<<20)
		for s.Scan() {
			out = append(out, strings.Fields(s.Text()))
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	floats := func(fields []string) []float32 {
		v := make([]float32, len(fields))
		for i, f := range fields {
			x, err := strconv.ParseFloat(f, 32)
			if err != nil {
				t.Fatal(err)
			}
			v[i] = float32(x)
		}
		return v
	}

	d := &hsFastTextData{}
	index := map[string]int{}
	for _, l := range lines("labels.txt") {
		k, err := strconv.ParseInt(l[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		index[l[0]] = len(d.labels)
		d.labels, d.counts = append(d.labels, l[0]), append(d.counts, k)
	}
	out := lines("output.txt")
	rows, err1 := strconv.Atoi(out[0][0])
	dim, err2 := strconv.Atoi(out[0][1])
	if err1 != nil || err2 != nil || rows != len(d.labels) || len(out) != rows+1 {
		t.Fatalf("output.txt: header %v for %d labels and %d rows", out[0], len(d.labels), len(out)-1)
	}
	d.dim = dim
	for _, row := range out[1:] {
		if len(row) != dim {
			t.Fatalf("output.txt: a row of %d values, want %d", len(row), dim)
		}
		d.output = append(d.output, floats(row)...)
	}
	for _, v := range lines("vectors.txt") {
		if len(v) != dim {
			t.Fatalf("vectors.txt: a vector of %d values, want %d", len(v), dim)
		}
		d.vectors = append(d.vectors, floats(v))
	}
	for _, l := range lines("predictions.txt") {
		var p []hsFastTextPrediction
		for i := 0; i+1 < len(l); i += 2 {
			c, ok := index[l[i]]
			prob, err := strconv.ParseFloat(l[i+1], 64)
			if !ok || err != nil {
				t.Fatalf("predictions.txt: cannot read %q %q", l[i], l[i+1])
			}
			p = append(p, hsFastTextPrediction{c, prob})
		}
		d.predictions = append(d.predictions, p)
	}
	if len(d.predictions) != len(d.vectors) {
		t.Fatalf("%d predictions for %d vectors", len(d.predictions), len(d.vectors))
	}
	return d
}

// TestFastTextModel serves a real fastText model (trained with -loss hs,
// see testdata/fasttext) with this library: the tree from the label counts,
// the first n-1 rows of fastText's output matrix as the weights, and
// fastText's sentence vectors as the hidden vectors. The best label from
// TopK must be fastText's on every line, and the probabilities of
// fastText's five best labels must match what it printed within a relative
// 1e-3, in the same order, once fastText's way of computing them is taken
// into account (see fastTextView).
func TestFastTextModel(t *testing.T) {
	d := hsReadFastTextData(t)
	n := len(d.labels)
	tr, err := NewHuffmanTree(d.counts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewHierarchical(tr, d.dim, d.output[:(n-1)*d.dim])
	if err != nil {
		t.Fatal(err)
	}

	// fastTextView converts the exact probability of class c into the
	// number fastText's predict-prob prints for it. fastText computes each
	// decision's probability f = sigmoid(w·h) in float32, takes 1 - f for
	// the code-0 child, and sums log(p + 1e-5) down the path. So it
	// multiplies, for each decision of exact probability p, by (q + 1e-5)/p
	// where q is p as float32 rounding of f leaves it. (For a decision
	// near certain, q = 1 - f is off by up to 3e-8, which matters only for
	// classes whose probability is not far above the 1e-5 added to it.)
	fastTextView := func(h []float32, c int, exact float64) float64 {
		logRatio := 0.0
		for i, r := range tr.Path(c) {
			s := m.dot(r, h)
			e := float32(math.Exp(-s))
			f := float64(float32(1 / float64(1+e)))
			p, q := hsSigmoid(s), f
			if tr.Code(c)[i] == 0 {
				p, q = hsSigmoid(-s), 1-f
			}
			logRatio += math.Log(q+1e-5) - math.Log(p)
		}
		return exact * math.Exp(logRatio)
	}

	const k = 5
	classes := make([]int, k)
	lp := make([]float32, k)
	view := make([]float64, n)
	order := make([]int, n)
	worst, worstRaw, compared, exactOrderDiffers := 0.0, 0.0, 0, 0
	for line, h := range d.vectors {
		want := d.predictions[line]
		if m.TopK(classes, lp, h) != k {
			t.Fatal("TopK did not return 5 classes")
		}
		if classes[0] != want[0].label {
			t.Errorf("line %d: best label %s (%g), fastText's %s (%g)", line+1,
				d.labels[classes[0]], math.Exp(float64(lp[0])), d.labels[want[0].label], want[0].prob)
		}

		// Every class in fastText's view, ranked as fastText ranks them.
		for c := range view {
			exact := math.Exp(float64(m.LogProb(h, c)))
			if c == classes[0] {
				exact = math.Exp(float64(lp[0])) // TopK's own number
			}
			view[c], order[c] = fastTextView(h, c, exact), c
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case view[a] > view[b]:
				return -1
			case view[a] < view[b]:
				return 1
			}
			return 0
		})
		for i, p := range want {
			got := view[p.label]
			rel := math.Abs(got-p.prob) / p.prob
			worst = max(worst, rel)
			exact := math.Exp(float64(m.LogProb(h, p.label)))
			worstRaw = max(worstRaw, math.Abs(exact-p.prob)/p.prob)
			compared++
			if rel > 1e-3 {
				t.Errorf("line %d: %s: probability %g in fastText's view (exact %g), fastText "+
					"printed %g: relative difference %.2g", line+1, d.labels[p.label], got, exact,
					p.prob, rel)
			}
			// The same rank, unless the two classes are tied to within
			// the precision of the exported numbers.
			if c := order[i]; c != p.label && math.Abs(view[c]-got) > 1e-3*got {
				t.Errorf("line %d rank %d: %s (%g), fastText's %s (%g)", line+1, i+1,
					d.labels[c], view[c], d.labels[p.label], got)
			}
			if i < k && classes[i] != p.label {
				exactOrderDiffers++
			}
		}
	}
	t.Logf("%d lines, %d probabilities: worst relative difference %.2g in fastText's view, "+
		"%.2g between the exact probability and fastText's; fastText's order differs from the "+
		"exact one at %d ranks", len(d.vectors), compared, worst, worstRaw, exactOrderDiffers)
}

// TestWord2VecConvention checks the documented way to load a word2vec
// model: word2vec trains sigmoid(syn1_r · h) as the probability of code 0,
// so its rows, negated, are this library's weights. The reference below is
// word2vec's own product over the path, written from its training loop
// (g = (1 - code - f)·alpha pushes f towards 1 - code). The vocabulary has
// word2vec's </s> first with a small count, so the tree is built in order.
func TestWord2VecConvention(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	const n, dim = 300, 7
	counts := hsZipfCounts(n)
	counts[0] = 3
	tr, _ := NewHuffmanTreeInOrder(counts)
	syn1 := randomLogits[float64](rng, tr.Rows()*dim, 1)
	negated := make([]float64, len(syn1))
	for i, v := range syn1 {
		negated[i] = -v
	}
	m, _ := NewHierarchical(tr, dim, negated)
	for trial := 0; trial < 20; trial++ {
		h := randomLogits[float64](rng, dim, 1)
		word := rng.IntN(n)
		want := 1.0
		for d, r := range tr.Path(word) {
			f := 0.0
			for c := 0; c < dim; c++ {
				f += h[c] * syn1[int(r)*dim+c]
			}
			f = 1 / (1 + math.Exp(-f))
			if tr.Code(word)[d] == 0 {
				want *= f
			} else {
				want *= 1 - f
			}
		}
		if got := math.Exp(m.LogProb(h, word)); math.Abs(got-want) > 1e-12*want {
			t.Errorf("word %d: P = %g, word2vec's %g", word, got, want)
		}
	}
}

// ExampleHierarchical trains a hierarchical softmax over a Huffman tree
// and asks it for the most probable classes.
func ExampleHierarchical() {
	// Four classes seen 50, 30, 15 and 5 times; frequent classes get the
	// short paths.
	tree, err := NewHuffmanTree([]int64{50, 30, 15, 5})
	if err != nil {
		panic(err)
	}
	const dim = 4
	weights := make([]float32, tree.Rows()*dim)
	model, err := NewHierarchical(tree, dim, weights)
	if err != nil {
		panic(err)
	}
	for c := 0; c < tree.NumClasses(); c++ {
		fmt.Printf("class %d: path %v, code %v\n", c, tree.Path(c), tree.Code(c))
	}

	// Teach it that hidden vector e_c means class c.
	dh := make([]float32, dim)
	for epoch := 0; epoch < 200; epoch++ {
		for c := 0; c < dim; c++ {
			h := make([]float32, dim)
			h[c] = 1
			model.Step(h, c, 0.5, dh)
		}
	}

	classes := make([]int, 2)
	logProbs := make([]float32, 2)
	model.TopK(classes, logProbs, []float32{0, 0, 1, 0})
	fmt.Printf("best for e_2: class %d, p > 0.9: %v\n",
		classes[0], math.Exp(float64(logProbs[0])) > 0.9)
	// Output:
	// class 0: path [2], code [1]
	// class 1: path [2 1], code [0 1]
	// class 2: path [2 1 0], code [0 0 1]
	// class 3: path [2 1 0], code [0 0 0]
	// best for e_2: class 2, p > 0.9: true
}
