module techcommerce/e2e/pause

go 1.25
