module brasa.dev/testdata/cpuwork

go 1.19
