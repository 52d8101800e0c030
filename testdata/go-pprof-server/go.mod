module brasa.test/gopprofserver

go 1.19
