module github.com/runlet/runlet

go 1.26.8
