module github.com/gosoftmax/softmax/_tools

go 1.24.0
