module goropipeline

go 1.22
