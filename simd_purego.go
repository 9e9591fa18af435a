//go:build purego || !gc || !(amd64 || arm64)

package softmax

// This file is the dispatch layer where no assembly is built: every
// operation goes straight to its pure-Go kernel.

func supportedKernels() []kernelID { return []kernelID{kernelGeneric} }

func maxOf32(x []float32) float32                 { return maxOfGeneric(x) }
func maxOf64(x []float64) float64                 { return maxOfGeneric(x) }
func sumExp32(x []float32, shift float32) float64 { return sumExp32Generic(x, shift) }
func sumExp64(x []float64, shift float64) float64 { return sumExp64Generic(x, shift) }
func scale32(x []float32, c float32)              { scaleGeneric(x, c) }
func scale64(x []float64, c float64)              { scaleGeneric(x, c) }
func maxSumExp32(x []float32) (float32, float64)  { return maxSumExp32Generic(x) }
func maxSumExp64(x []float64) (float64, float64)  { return maxSumExp64Generic(x) }

func storeExp32(dst, x []float32, s expShift[float32]) float64 {
	return storeExp32Generic(dst, x, s)
}

func storeExp64(dst, x []float64, s expShift[float64]) float64 {
	return storeExp64Generic(dst, x, s)
}

func storeExpScaled32(dst, x []float32, s expShift[float32], c float32) {
	storeExpScaled32Generic(dst, x, s, c)
}

func storeExpScaled64(dst, x []float64, s expShift[float64], c float64) {
	storeExpScaled64Generic(dst, x, s, c)
}

func storeLogSoftmax32(dst, x []float32, shift, logSum float32) {
	storeLogSoftmaxGeneric(dst, x, shift, logSum)
}

func storeLogSoftmax64(dst, x []float64, shift, logSum float64) {
	storeLogSoftmaxGeneric(dst, x, shift, logSum)
}
