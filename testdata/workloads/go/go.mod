module brasa.test/workload

go 1.19
