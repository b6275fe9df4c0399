# Maximum-likelihood references for hglm's cumulative (ordinal) family, from ordinal's clmm
# (Laplace approximation, as hglm's fit_ml).  Run from the repository root:
#   Rscript tests/reference/ordinal_cumulative.R
# (Debian: apt-get install r-base-core r-cran-ordinal).  Writes
# tests/reference/ordinal_cumulative.csv (model, quantity, name, value); the tests read that
# file, so no test needs R.  clmm's thresholds are hglm's: P(y <= k) = F(theta_k - eta).
suppressMessages(library(ordinal))
sim <- read.csv("tests/reference/ordinal_sim.csv")
sim$rating <- factor(sim$rating, ordered = TRUE)
wine <- read.csv("hglm/datasets/data/wine.csv")
wine$rating <- factor(wine$rating, ordered = TRUE)
ctrl <- clmm.control(gradTol = 1e-8, maxIter = 500)

rows <- list()
add <- function(model, quantity, name, value) {
  rows[[length(rows) + 1]] <<- data.frame(model = model, quantity = quantity, name = name,
                                          value = sprintf("%.10g", value))
}
record <- function(model, fit) {
  add(model, "loglik", "", as.numeric(logLik(fit)))
  co <- coef(fit)                     # thresholds "1|2", ..., then the coefficients
  for (n in names(co)) add(model, "fixef", n, co[[n]])
  vc <- VarCorr(fit)
  for (g in names(vc)) {
    s <- attr(vc[[g]], "stddev")
    for (n in names(s)) add(model, "sd", paste(g, sub("\\(Intercept\\)", "Intercept", n),
                                               sep = "|"), s[[n]])
    if (length(s) == 2) add(model, "cor", paste(g, "Intercept:x", sep = "|"),
                            attr(vc[[g]], "correlation")[2, 1])
  }
}
record("logit_intercept", clmm(rating ~ x + (1 | g), data = sim, control = ctrl))
record("logit_slope", clmm(rating ~ x + (1 + x | g), data = sim, control = ctrl))
record("probit_intercept", clmm(rating ~ x + (1 | g), data = sim, link = "probit",
                                control = ctrl))
record("probit_slope", clmm(rating ~ x + (1 + x | g), data = sim, link = "probit",
                            control = ctrl))
record("wine", clmm(rating ~ temp + contact + (1 | judge), data = wine, control = ctrl))
write.csv(do.call(rbind, rows), "tests/reference/ordinal_cumulative.csv", row.names = FALSE)
