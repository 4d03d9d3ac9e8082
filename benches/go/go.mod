module gorotwins

go 1.22
