module example.com/pgtls

go 1.19
