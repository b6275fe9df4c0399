# Copies two datasets from R packages into hglm/datasets/data (run once, from the repository
# root: Rscript tests/reference/export_datasets.R; Debian: apt-get install r-base-core
# r-cran-glmmtmb r-cran-ordinal).  Sources and licences: hglm/datasets/__init__.py.
suppressMessages({library(glmmTMB); library(ordinal)})
data(Salamanders, package = "glmmTMB")
sal <- Salamanders
sal$site <- as.character(sal$site)          # an ordered factor in R only for plotting
write.csv(sal, "hglm/datasets/data/salamanders.csv", row.names = FALSE)
data(wine, package = "ordinal")
w <- wine
w$rating <- as.integer(as.character(w$rating))   # 1..5, ordered as numbers
write.csv(w, "hglm/datasets/data/wine.csv", row.names = FALSE)
