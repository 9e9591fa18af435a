package softmax

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// This file holds the hierarchical softmax: a binary tree over the classes
// in which every internal node makes one logistic decision, so that the
// probability of a class is the product of the decisions on its path and
// a class costs O(d log n) instead of O(d n).
//
// Numbering follows fastText and word2vec. A tree over n classes has n
// leaves (the classes) and n-1 internal nodes, and each internal node owns
// one row of the weight matrix; Tree calls these rows. At row r the
// decision is sigmoid(w_r · h) for the child with code 1 (fastText's
// "right" child) and 1 - sigmoid(w_r · h) = sigmoid(-w_r · h) for the child
// with code 0.

// hsMaxClasses bounds the number of classes so that node numbers fit in
// an int32 with room for the leaf encoding.
const hsMaxClasses = math.MaxInt32 / 2

// Tree is a binary tree over n classes, the shape of a hierarchical
// softmax. Its n-1 internal nodes are numbered 0..n-2 and are the rows of
// the weight matrix; its leaves are the classes 0..n-1. A Tree is
// immutable and safe for concurrent use.
type Tree struct {
	n    int
	root int32

	// child[2r+b] is the node reached from row r by code b: a row when it
	// is non-negative, the class ^v when it is negative.
	child []int32

	// order lists the rows with every parent before its children.
	order []int32

	// The path of class c runs from the root to the leaf over the rows
	// pathRows[start[c]:start[c+1]], taking the codes at the same
	// positions of pathCodes.
	start     []int32
	pathRows  []int32
	pathCodes []uint8
	maxDepth  int
}

// NewHuffmanTree returns the Huffman tree for classes with the given
// counts (how often each class occurs), so that frequent classes get short
// paths and the expected path length is the smallest any binary tree
// achieves.
//
// When counts is non-increasing, as fastText's dictionaries are (and
// word2vec's but for its first word), the tree is node for node theirs:
// the classes are leaves 0..n-1, internal node n+j is the j-th one created
// and owns row j, each step joins the two smallest nodes (the first
// becomes the code-0 child, the second the code-1 child), and a leaf and
// an internal node of equal count go to the internal node first. Their
// trained output matrices can therefore be used as the weights unchanged
// (word2vec's negated; see Hierarchical).
// Counts in any other order are first stably sorted into descending order,
// and the tree is built over that order; NewHuffmanTreeInOrder builds over
// the order given instead, as word2vec does.
//
// NewHuffmanTree returns an error if there are fewer than 2 classes, more
// than about a billion, a count that is not positive, or counts whose sum
// overflows an int64.
func NewHuffmanTree(counts []int64) (*Tree, error) {
	return hsHuffman("NewHuffmanTree", counts, true)
}

// NewHuffmanTreeInOrder builds a tree by the construction of
// NewHuffmanTree applied to the counts in the order given, without sorting
// them first. For non-increasing counts the two are the same tree. For
// counts in another order the result is a valid tree but not, in general,
// an optimal code: it is what word2vec.c builds, because word2vec keeps its
// end-of-sentence word </s> first in its vocabulary whatever its count.
// Use it to serve a word2vec model whose first count is not its largest.
//
// It returns an error for the same inputs as NewHuffmanTree.
func NewHuffmanTreeInOrder(counts []int64) (*Tree, error) {
	return hsHuffman("NewHuffmanTreeInOrder", counts, false)
}

// hsHuffman builds a Huffman tree, sorting the counts first if sorted is
// true and they are not already in descending order.
func hsHuffman(fn string, counts []int64, sorted bool) (*Tree, error) {
	n := len(counts)
	if err := hsCheckClasses(fn, n); err != nil {
		return nil, err
	}
	var total int64
	for c, k := range counts {
		if k <= 0 {
			return nil, fmt.Errorf("softmax.%s: counts[%d] = %d; counts must be positive", fn, c, k)
		}
		if total > math.MaxInt64-k {
			return nil, fmt.Errorf("softmax.%s: the sum of the counts overflows an int64", fn)
		}
		total += k
	}

	// leafClass[i] is the class at leaf position i.
	leafClass := make([]int32, n)
	for i := range leafClass {
		leafClass[i] = int32(i)
	}
	if sorted && !slices.IsSortedFunc(counts, hsCompareDesc) {
		slices.SortStableFunc(leafClass, func(a, b int32) int {
			return hsCompareDesc(counts[a], counts[b])
		})
	}

	// Two queues, as in fastText and word2vec: the leaves from the last
	// (the smallest count, when sorted) to the first, and the internal
	// nodes in the order they were made (node moves up from n), which for
	// sorted counts is ascending too. Node i is made from the heads of the
	// two queues: a leaf is taken only when it is strictly smaller than
	// the next internal node, or no internal node is waiting.
	weight := make([]int64, 2*n-1)
	for i, c := range leafClass {
		weight[i] = counts[c]
	}
	child := make([]int32, 2*(n-1))
	leaf, node := n-1, n
	for i := n; i < 2*n-1; i++ {
		for b := 0; b < 2; b++ {
			var pick int
			if leaf >= 0 && (node >= i || weight[leaf] < weight[node]) {
				pick, leaf = leaf, leaf-1
			} else {
				pick, node = node, node+1
			}
			weight[i] += weight[pick]
			if pick < n {
				child[2*(i-n)+b] = ^leafClass[pick]
			} else {
				child[2*(i-n)+b] = int32(pick - n)
			}
		}
	}
	return hsNewTree(fn, n, child, int32(n-2))
}

// hsCompareDesc orders counts from the largest down.
func hsCompareDesc(a, b int64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// NewBalancedTree returns a balanced tree over n classes: every path has
// floor(log2 n) or ceil(log2 n) decisions. Rows are numbered as in a binary
// heap: row 0 is the root, and the children of row r are nodes 2r+1
// (code 0) and 2r+2 (code 1), where node numbers from n-1 up are the
// classes 0, 1, ... n-1.
//
// NewBalancedTree returns an error if n is less than 2 or more than about
// a billion.
func NewBalancedTree(n int) (*Tree, error) {
	if err := hsCheckClasses("NewBalancedTree", n); err != nil {
		return nil, err
	}
	child := make([]int32, 2*(n-1))
	for i := range child {
		v := int32(i + 1) // the heap number of the child in slot i
		if v >= int32(n-1) {
			v = ^(v - int32(n-1))
		}
		child[i] = v
	}
	return hsNewTree("NewBalancedTree", n, child, 0)
}

// NewTree returns the tree described by the path of each class, in the
// form word2vec and gensim store it (their point and code arrays):
// paths[c] lists the rows from the root down to class c, and codes[c][i]
// is the branch taken at row paths[c][i], 1 for the child whose
// probability is sigmoid(w · h) and 0 for the other. The classes are
// 0..len(paths)-1 and the rows 0..len(paths)-2.
//
// The description says who the parent of each node is (the row before it
// on a path) and which child of that parent it is (the code). NewTree
// returns an error unless it describes exactly one binary tree in which
// every row has two children: for fewer than 2 classes, mismatched
// lengths, a row out of range or a code other than 0 and 1, an empty path
// (a class that cannot be reached), paths that start at different rows,
// a cycle (a path that returns to a row it has passed, the root
// included), a node given two parents, and two nodes given the same place
// (which is how a row on no path shows).
func NewTree(paths [][]int32, codes [][]uint8) (*Tree, error) {
	const fn = "NewTree"
	n := len(paths)
	if err := hsCheckClasses(fn, n); err != nil {
		return nil, err
	}
	if len(codes) != n {
		return nil, fmt.Errorf("softmax.NewTree: %d paths but %d code lists", n, len(codes))
	}
	for c := range paths {
		switch {
		case len(paths[c]) == 0:
			return nil, fmt.Errorf("softmax.NewTree: class %d cannot be reached: its path is empty", c)
		case len(codes[c]) != len(paths[c]):
			return nil, fmt.Errorf("softmax.NewTree: class %d has %d rows on its path but %d codes",
				c, len(paths[c]), len(codes[c]))
		}
		for i, r := range paths[c] {
			if r < 0 || int(r) >= n-1 {
				return nil, fmt.Errorf("softmax.NewTree: paths[%d][%d] = %d is not a row in [0, %d)",
					c, i, r, n-1)
			}
			if codes[c][i] > 1 {
				return nil, fmt.Errorf("softmax.NewTree: codes[%d][%d] = %d; codes are 0 or 1",
					c, i, codes[c][i])
			}
		}
	}

	// Place every node in the child slot its path names. A slot holds
	// one node and a row has one slot (its parent and code), so any
	// disagreement between two paths shows up here.
	const empty = math.MinInt32
	child := make([]int32, 2*(n-1))
	for i := range child {
		child[i] = empty
	}
	slotOf := make([]int32, n-1) // the slot holding each row, or -1
	for i := range slotOf {
		slotOf[i] = -1
	}
	root := paths[0][0]
	onPath := make([]int32, n-1) // onPath[r] = c+1 once class c's path has passed row r
	for c, p := range paths {
		if p[0] != root {
			return nil, fmt.Errorf("softmax.NewTree: class %d's path starts at row %d, class 0's "+
				"at row %d; a tree has one root", c, p[0], root)
		}
		onPath[root] = int32(c + 1)
		for i := 1; i <= len(p); i++ {
			slot := 2*p[i-1] + int32(codes[c][i-1])
			v := ^int32(c)
			if i < len(p) {
				v = p[i]
				if onPath[v] == int32(c+1) {
					return nil, fmt.Errorf("softmax.NewTree: the path of class %d passes row %d "+
						"twice; a tree has no cycles", c, v)
				}
				onPath[v] = int32(c + 1)
				if s := slotOf[v]; s >= 0 && s != slot {
					return nil, fmt.Errorf("softmax.NewTree: row %d has two parents: the code-%d "+
						"child of row %d, and the code-%d child of row %d on class %d's path",
						v, s&1, s>>1, slot&1, slot>>1, c)
				}
				slotOf[v] = slot
			}
			switch w := child[slot]; {
			case w == empty:
				child[slot] = v
			case w != v:
				return nil, fmt.Errorf("softmax.NewTree: the code-%d child of row %d is both %s "+
					"and %s", slot&1, slot>>1, hsNodeName(w), hsNodeName(v))
			}
		}
	}

	// By counting, no slot is empty now: n classes and the n-2 rows below
	// the root fill the 2(n-1) slots, or two of them collided above (a row
	// on no path always leaves too few slots). The check keeps that
	// argument from being load-bearing.
	for slot, v := range child {
		if v == empty {
			return nil, fmt.Errorf("softmax.NewTree: row %d has no code-%d child", slot>>1, slot&1)
		}
	}
	return hsNewTree(fn, n, child, root)
}

// hsNodeName names a node for an error message.
func hsNodeName(v int32) string {
	if v < 0 {
		return fmt.Sprintf("class %d", ^v)
	}
	return fmt.Sprintf("row %d", v)
}

func hsCheckClasses(fn string, n int) error {
	switch {
	case n < 2:
		return fmt.Errorf("softmax.%s: %d classes; a tree needs at least 2", fn, n)
	case n > hsMaxClasses:
		return fmt.Errorf("softmax.%s: %d classes; at most %d are supported", fn, n, hsMaxClasses)
	}
	return nil
}

// hsNewTree completes a tree from its child slots: it walks the tree from
// the root, which proves that every row and every class is reached exactly
// once (so there is no cycle and nothing unreachable), and records the
// path of every class.
func hsNewTree(fn string, n int, child []int32, root int32) (*Tree, error) {
	t := &Tree{n: n, root: root, child: child}

	// Breadth first from the root: order gets every row after its parent.
	parentSlot := make([]int32, n-1) // the slot that holds each row
	leafSlot := make([]int32, n)     // the slot that holds each class
	for c := range leafSlot {
		leafSlot[c] = -1
	}
	seen := make([]bool, n-1)
	t.order = make([]int32, 1, n-1)
	t.order[0], seen[root], parentSlot[root] = root, true, -1
	for i := 0; i < len(t.order); i++ {
		r := t.order[i]
		for b := int32(0); b < 2; b++ {
			slot := 2*r + b
			v := child[slot]
			if v >= 0 {
				if seen[v] {
					return nil, fmt.Errorf("softmax.%s: row %d is reached twice", fn, v)
				}
				seen[v], parentSlot[v] = true, slot
				t.order = append(t.order, v)
				continue
			}
			if c := ^v; leafSlot[c] >= 0 {
				return nil, fmt.Errorf("softmax.%s: class %d is reached twice", fn, c)
			}
			leafSlot[^v] = slot
		}
	}
	if len(t.order) != n-1 {
		return nil, fmt.Errorf("softmax.%s: only %d of %d rows can be reached from the root",
			fn, len(t.order), n-1)
	}
	for c, s := range leafSlot {
		if s < 0 {
			return nil, fmt.Errorf("softmax.%s: class %d cannot be reached from the root", fn, c)
		}
	}

	// The depth of a row is its parent's plus one; the path of a class is
	// the chain of slots above its leaf, written from the root down.
	depth := make([]int32, n-1)
	for _, r := range t.order[1:] {
		depth[r] = depth[parentSlot[r]>>1] + 1
	}
	t.start = make([]int32, n+1)
	total := 0
	for c, s := range leafSlot {
		d := int(depth[s>>1]) + 1
		t.maxDepth = max(t.maxDepth, d)
		total += d
		t.start[c+1] = int32(total)
		if total > math.MaxInt32 {
			return nil, fmt.Errorf("softmax.%s: the paths are too long to store (%d nodes)", fn, total)
		}
	}
	t.pathRows = make([]int32, total)
	t.pathCodes = make([]uint8, total)
	for c, s := range leafSlot {
		for i := t.start[c+1] - 1; i >= t.start[c]; i-- {
			t.pathRows[i], t.pathCodes[i] = s>>1, uint8(s&1)
			s = parentSlot[s>>1]
		}
	}
	return t, nil
}

// NumClasses returns the number of classes, the leaves of the tree.
func (t *Tree) NumClasses() int { return t.n }

// Rows returns the number of internal nodes, NumClasses()-1, which is the
// number of rows the weight matrix has.
func (t *Tree) Rows() int { return t.n - 1 }

// Root returns the row of the root.
func (t *Tree) Root() int { return int(t.root) }

// MaxDepth returns the length of the longest path.
func (t *Tree) MaxDepth() int { return t.maxDepth }

// Depth returns the length of the path of class c, its code length. It
// panics if c is not a class.
func (t *Tree) Depth(c int) int {
	t.checkClass("Tree.Depth", c)
	return int(t.start[c+1] - t.start[c])
}

// Path returns the rows on the path of class c, from the root down. The
// slice belongs to the tree and must not be modified. It panics if c is
// not a class.
func (t *Tree) Path(c int) []int32 {
	t.checkClass("Tree.Path", c)
	return t.pathRows[t.start[c]:t.start[c+1]:t.start[c+1]]
}

// Code returns the codes on the path of class c, from the root down: the
// branch taken at each row of Path(c). The slice belongs to the tree and
// must not be modified. It panics if c is not a class.
func (t *Tree) Code(c int) []uint8 {
	t.checkClass("Tree.Code", c)
	return t.pathCodes[t.start[c]:t.start[c+1]:t.start[c+1]]
}

// Child returns the node reached from row r by code b (0 or 1): a row when
// leaf is false, a class when it is true. It panics if r is not a row or
// b is not 0 or 1.
func (t *Tree) Child(r int, b uint8) (node int, leaf bool) {
	if r < 0 || r >= t.n-1 || b > 1 {
		panic(fmt.Sprintf("softmax.Tree.Child: row %d, code %d out of range [0, %d) × {0, 1}",
			r, b, t.n-1))
	}
	v := t.child[2*r+int(b)]
	if v < 0 {
		return int(^v), true
	}
	return int(v), false
}

func (t *Tree) checkClass(fn string, c int) {
	if c < 0 || c >= t.n {
		panic(fmt.Sprintf("softmax.%s: class %d out of range [0, %d)", fn, c, t.n))
	}
}

// Hierarchical is a hierarchical softmax: a Tree and one row of dim
// weights for each of its internal nodes. For a hidden vector h, the
// decision at row r takes the code-1 child with probability
// sigmoid(w_r · h), the code-0 child with probability sigmoid(-w_r · h),
// and the probability of a class is the product of the decisions on its
// path, so the probabilities of all classes sum to 1 for any weights.
// Log-probabilities are computed with an exact log-sigmoid, in float64.
//
// The sign convention is fastText's. word2vec (and gensim) train
// sigmoid(w_r · h) as the probability of the code-0 child: negate their
// output rows (syn1) to use them here. fastText's predict-prob adds 1e-5
// to every decision's probability inside its logarithm, log(p + 1e-5), so
// its printed probabilities are slightly larger than the exact ones here,
// by a factor of up to (1 + 1e-5/p) for each decision p on the path.
//
// A NaN in h or in the weights on a path makes the log-probabilities that
// depend on it NaN; TopK then still returns distinct classes, in no
// meaningful order.
//
// The weights are not copied: Step trains them in place, and the caller
// may read or write them between calls. The dot products and updates go
// through gonum's blas32 and blas64, and so through whatever BLAS
// implementation the program installed with their Use functions.
//
// LogProb, LogProbs, TopK and Loss only read the weights and may be called
// from several goroutines at once; Step writes them.
type Hierarchical[F Float] struct {
	tree    *Tree
	dim     int
	weights []F

	// scratch holds *hsScratch[F] buffers for LogProbs and TopK.
	scratch sync.Pool
}

// hsScratch is the working memory of one LogProbs or TopK call.
type hsScratch[F Float] struct {
	scores []F       // w_r · h for every row
	logp   []float64 // the log-probability of reaching every row
	heap   []hsEntry // the frontier of the top-k search
}

// NewHierarchical returns the hierarchical softmax over t with the given
// weights: a row-major matrix of t.Rows() rows of dim values, row r
// belonging to internal node r. It returns an error if dim is not positive
// or weights does not have t.Rows()·dim elements.
//
// The output matrix of a fastText model trained with -loss hs has
// NumClasses rows; its first NumClasses-1 are the weights here.
func NewHierarchical[F Float](t *Tree, dim int, weights []F) (*Hierarchical[F], error) {
	switch {
	case t == nil:
		return nil, errors.New("softmax.NewHierarchical: the tree is nil")
	case dim <= 0:
		return nil, fmt.Errorf("softmax.NewHierarchical: dim = %d; it must be positive", dim)
	case dim > math.MaxInt/max(1, t.Rows()):
		return nil, fmt.Errorf("softmax.NewHierarchical: %d rows × dim %d overflows int",
			t.Rows(), dim)
	case len(weights) != t.Rows()*dim:
		return nil, fmt.Errorf("softmax.NewHierarchical: len(weights) = %d, want %d rows × %d = %d",
			len(weights), t.Rows(), dim, t.Rows()*dim)
	}
	return &Hierarchical[F]{tree: t, dim: dim, weights: weights}, nil
}

// Tree returns the tree.
func (m *Hierarchical[F]) Tree() *Tree { return m.tree }

// Dim returns the length of the hidden vector.
func (m *Hierarchical[F]) Dim() int { return m.dim }

// Weights returns the weight matrix, which is the slice given to
// NewHierarchical.
func (m *Hierarchical[F]) Weights() []F { return m.weights }

// LogProb returns log P(class | h), reading only the rows on the class's
// path: O(dim · depth) work.
//
// It panics if class is out of range or len(h) is not Dim().
func (m *Hierarchical[F]) LogProb(h []F, class int) F {
	m.checkHidden("Hierarchical.LogProb", h)
	m.tree.checkClass("Hierarchical.LogProb", class)
	t := m.tree

	lp := 0.0
	for i := t.start[class]; i < t.start[class+1]; i++ {
		s := m.dot(t.pathRows[i], h)
		lp += hsLogSigmoidCode(s, t.pathCodes[i])
	}
	return F(lp)
}

// LogProbs sets dst[c] = log P(c | h) for every class: one matrix-vector
// product for all the decisions, then one pass down the tree.
//
// It panics if len(dst) is not Tree().NumClasses() or len(h) is not Dim().
func (m *Hierarchical[F]) LogProbs(dst, h []F) {
	m.checkHidden("Hierarchical.LogProbs", h)
	t := m.tree
	if len(dst) != t.n {
		panic(fmt.Sprintf("softmax.Hierarchical.LogProbs: len(dst) = %d, want %d classes",
			len(dst), t.n))
	}
	s := m.getScratch()
	defer m.scratch.Put(s)
	if rows := t.Rows(); len(s.scores) < rows {
		s.scores, s.logp = make([]F, rows), make([]float64, rows)
	}

	m.scoreAll(s.scores, h)

	// TODO: this pass costs about as much as the gemv (measured at
	// n = 100,000, dim 128): one math.Exp and one math.Log1p per row, and
	// writes scattered over logp and dst. A vectorized log-sigmoid over
	// s.scores, built like the softmax kernels' exp, and a row numbering
	// that keeps children near their parents would cut it.
	s.logp[t.root] = 0
	for _, r := range t.order {
		var both [2]float64
		both[0], both[1] = hsLogSigmoidBoth(float64(s.scores[r]))
		for b, ls := range both {
			lp := s.logp[r] + ls
			if v := t.child[2*int(r)+b]; v >= 0 {
				s.logp[v] = lp
			} else {
				dst[^v] = F(lp)
			}
		}
	}
}

// TopK writes the len(classes) most probable classes, best first, into
// classes, and their log-probabilities into logProbs unless it is nil. It
// returns how many it wrote: len(classes), or NumClasses() when that is
// smaller. Classes of equal log-probability come in increasing order, so
// the result is exactly that of sorting the LogProb of every class.
//
// The search is best first: it keeps the frontier of opened subtrees in a
// heap ordered by the log-probability of reaching them, and always opens
// the most probable. Since a subtree's log-probability bounds that of
// every class in it, the classes come out in order, and a subtree less
// probable than the k-th best class is never opened: the search computes
// the decisions of only the rows at least that probable, about
// k·log2(n) of them when the model is confident.
//
// It panics if len(h) is not Dim() or logProbs is not nil and has a
// different length from classes.
func (m *Hierarchical[F]) TopK(classes []int, logProbs []F, h []F) int {
	m.checkHidden("Hierarchical.TopK", h)
	if logProbs != nil && len(logProbs) != len(classes) {
		panic(lengthMismatch("Hierarchical.TopK", "logProbs", len(logProbs),
			"classes", len(classes)))
	}
	k := min(len(classes), m.tree.n)
	if k == 0 {
		return 0
	}
	t := m.tree
	s := m.getScratch()
	defer m.scratch.Put(s)

	// The heap orders subtrees by their log-probability rounded to F,
	// which is what LogProb reports: rounding is monotonic, so a subtree's
	// rounded value still bounds those of its classes, and classes whose
	// values become equal only in F still come out in class order.
	q := hsHeap(s.heap[:0])
	q.push(hsEntry{0, 0, t.root})
	found := 0
	for found < k && len(q) > 0 {
		e := q.pop()
		if e.node < 0 {
			classes[found] = int(^e.node)
			if logProbs != nil {
				logProbs[found] = F(e.logp)
			}
			found++
			continue
		}
		var both [2]float64
		both[0], both[1] = hsLogSigmoidBoth(m.dot(e.node, h))
		for b, ls := range both {
			lp := e.logp + ls
			q.push(hsEntry{float64(F(lp)), lp, t.child[2*int(e.node)+b]})
		}
	}
	s.heap = q
	return found
}

// Loss returns the loss of the example (h, class), -log P(class | h), and
// its gradients.
//
// When dh is not nil, the gradient with respect to h is added to it. When
// coef is not nil, it receives the gradient with respect to the weights,
// which is zero except on the rows of the class's path: the gradient of
// row Tree().Path(class)[i] is coef[i]·h, for i below Tree().Depth(class).
// (coef[i] is the derivative of the loss with respect to the score
// w·h of that row: sigmoid(w·h) minus the code taken there.)
//
// It panics if class is out of range, len(h) or a non-nil dh's length is
// not Dim(), or a non-nil coef is shorter than the class's path.
func (m *Hierarchical[F]) Loss(h []F, class int, dh, coef []F) F {
	const fn = "Hierarchical.Loss"
	m.checkHidden(fn, h)
	m.tree.checkClass(fn, class)
	m.checkGradient(fn, dh)
	t := m.tree
	if depth := t.Depth(class); coef != nil && len(coef) < depth {
		panic(fmt.Sprintf("softmax.%s: len(coef) = %d is shorter than the path of class %d (%d)",
			fn, len(coef), class, depth))
	}

	loss := 0.0
	for i := t.start[class]; i < t.start[class+1]; i++ {
		r, b := t.pathRows[i], t.pathCodes[i]
		s := m.dot(r, h)
		loss -= hsLogSigmoidCode(s, b)
		g := hsScoreGradient(s, b)
		if coef != nil {
			coef[i-t.start[class]] = F(g)
		}
		if dh != nil {
			m.axpy(F(g), m.row(r), dh)
		}
	}
	return F(loss)
}

// Step trains on the example (h, class) with learning rate lr: it adds the
// gradient of the loss with respect to h to dh (unless dh is nil),
// subtracts lr times the gradient from each row on the class's path, and
// returns the loss before the update. The gradient for h uses the rows
// before their update, as fastText does. Only the rows on the path are
// read or written, and nothing is allocated.
//
// dh must not overlap h or the weights. Step panics if class is out of
// range or len(h) or a non-nil dh's length is not Dim().
func (m *Hierarchical[F]) Step(h []F, class int, lr F, dh []F) F {
	const fn = "Hierarchical.Step"
	m.checkHidden(fn, h)
	m.tree.checkClass(fn, class)
	m.checkGradient(fn, dh)
	t := m.tree

	loss := 0.0
	for i := t.start[class]; i < t.start[class+1]; i++ {
		r, b := t.pathRows[i], t.pathCodes[i]
		row := m.row(r)
		s := m.dot(r, h)
		loss -= hsLogSigmoidCode(s, b)
		g := F(hsScoreGradient(s, b))
		if dh != nil {
			m.axpy(g, row, dh)
		}
		m.axpy(-lr*g, h, row)
	}
	return F(loss)
}

func (m *Hierarchical[F]) checkHidden(fn string, h []F) {
	if len(h) != m.dim {
		panic(fmt.Sprintf("softmax.%s: len(h) = %d, want dim = %d", fn, len(h), m.dim))
	}
}

func (m *Hierarchical[F]) checkGradient(fn string, dh []F) {
	if dh != nil && len(dh) != m.dim {
		panic(fmt.Sprintf("softmax.%s: len(dh) = %d, want dim = %d", fn, len(dh), m.dim))
	}
}

// getScratch returns working memory from the pool, or new memory when the
// pool is empty (at first, and after a garbage collection has emptied
// it). The buffers are sized by their users: LogProbs needs one score and
// one log-probability per row, TopK only a heap that grows to its
// frontier, which is small for a confident model.
func (m *Hierarchical[F]) getScratch() *hsScratch[F] {
	if s, ok := m.scratch.Get().(*hsScratch[F]); ok {
		return s
	}
	return &hsScratch[F]{heap: make([]hsEntry, 0, 64)}
}

func (m *Hierarchical[F]) row(r int32) []F {
	o := int(r) * m.dim
	return m.weights[o : o+m.dim : o+m.dim]
}

// dot returns w_r · h through BLAS.
func (m *Hierarchical[F]) dot(r int32, h []F) float64 {
	w := m.row(r)
	if is32[F]() {
		return float64(blas32.Dot(
			blas32.Vector{N: m.dim, Inc: 1, Data: as32(w)},
			blas32.Vector{N: m.dim, Inc: 1, Data: as32(h)}))
	}
	return blas64.Dot(
		blas64.Vector{N: m.dim, Inc: 1, Data: as64(w)},
		blas64.Vector{N: m.dim, Inc: 1, Data: as64(h)})
}

// axpy sets y += alpha·x through BLAS; x and y have length dim.
func (m *Hierarchical[F]) axpy(alpha F, x, y []F) {
	if is32[F]() {
		blas32.Axpy(float32(alpha),
			blas32.Vector{N: m.dim, Inc: 1, Data: as32(x)},
			blas32.Vector{N: m.dim, Inc: 1, Data: as32(y)})
		return
	}
	blas64.Axpy(float64(alpha),
		blas64.Vector{N: m.dim, Inc: 1, Data: as64(x)},
		blas64.Vector{N: m.dim, Inc: 1, Data: as64(y)})
}

// scoreAll sets scores[r] = w_r · h for every row with one BLAS gemv.
func (m *Hierarchical[F]) scoreAll(scores, h []F) {
	rows := m.tree.Rows()
	if is32[F]() {
		blas32.Gemv(blas.NoTrans, 1,
			blas32.General{Rows: rows, Cols: m.dim, Stride: m.dim, Data: as32(m.weights)},
			blas32.Vector{N: m.dim, Inc: 1, Data: as32(h)},
			0, blas32.Vector{N: rows, Inc: 1, Data: as32(scores)})
		return
	}
	blas64.Gemv(blas.NoTrans, 1,
		blas64.General{Rows: rows, Cols: m.dim, Stride: m.dim, Data: as64(m.weights)},
		blas64.Vector{N: m.dim, Inc: 1, Data: as64(h)},
		0, blas64.Vector{N: rows, Inc: 1, Data: as64(scores)})
}

// hsLogSigmoidCode returns the log-probability of taking code b at a row
// with score s: log sigmoid(s) for code 1, log sigmoid(-s) for code 0.
func hsLogSigmoidCode(s float64, b uint8) float64 {
	if b == 0 {
		s = -s
	}
	return hsLogSigmoid(s)
}

// hsLogSigmoid returns log(1/(1+exp(-x))) without cancellation or
// overflow for any x: -log1p(exp(-x)) is accurate for x >= 0, and
// x - log1p(exp(x)) for x < 0.
func hsLogSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

// hsLogSigmoidBoth returns the log-probabilities of both codes at a row
// with score s, hsLogSigmoidCode(s, 0) and hsLogSigmoidCode(s, 1), bit for
// bit, with one exponential and one logarithm: for a = |s|, the likelier
// code has -log1p(exp(-a)) and the other that minus a.
func hsLogSigmoidBoth(s float64) (code0, code1 float64) {
	a := math.Abs(s)
	likely := -math.Log1p(math.Exp(-a))
	unlikely := likely - a
	if s >= 0 {
		return unlikely, likely
	}
	return likely, unlikely
}

// hsSigmoid returns 1/(1+exp(-x)) accurately for any x.
func hsSigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// hsScoreGradient returns the derivative of -log P(code b) with respect
// to the score s of the row: sigmoid(s) - b, computed as -sigmoid(-s) for
// code 1 so that it keeps its relative accuracy when it is small.
func hsScoreGradient(s float64, b uint8) float64 {
	if b == 0 {
		return hsSigmoid(s)
	}
	return -hsSigmoid(-s)
}

// hsEntry is a subtree on the frontier of the top-k search: the node at
// its top (a row if non-negative, the class ^node if negative), the
// log-probability of reaching it, and the key the heap orders it by.
type hsEntry struct {
	key  float64
	logp float64
	node int32
}

// before reports whether the search must take e before f: the larger key
// first; at equal keys, rows before classes (so that every class of that
// key is on the frontier before the first is taken) and classes in
// increasing order.
func (e hsEntry) before(f hsEntry) bool {
	if e.key != f.key {
		return e.key > f.key
	}
	return e.node > f.node
}

// hsHeap is a binary heap of entries, the one that comes first at index
// 0. It is written out rather than built on container/heap, whose
// interface boxes every entry.
type hsHeap []hsEntry

func (q *hsHeap) push(e hsEntry) {
	h := append(*q, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *hsHeap) pop() hsEntry {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		c := l
		if r := l + 1; r < len(h) && h[r].before(h[l]) {
			c = r
		}
		if !h[c].before(h[i]) {
			break
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
	*q = h
	return top
}
