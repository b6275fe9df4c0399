# Maximum-likelihood references for distributional models (issue 17: a formula for an
# auxiliary parameter), from glmmTMB's dispformula and ziformula.  Run from the repository
# root:  Rscript tests/reference/glmmtmb_distributional.R  (Debian: apt-get install
# r-base-core r-cran-glmmtmb).  Writes tests/reference/glmmtmb_distributional.csv (model,
# quantity, name, value), read by tests/ml/test_distributional.py.
# glmmTMB's dispersion link is log, but for gaussian its "disp" coefficients are those of
# log sigma^2 (halve them for log sigma; checked: disp = 2 log sigma(fit) with ~1); for
# nbinom2 those of log alpha (its sigma() is alpha); ziformula's link is logit.
suppressMessages(library(glmmTMB))
sleep <- read.csv("hglm/datasets/data/sleepstudy.csv")
zi_sim <- read.csv("tests/reference/zicounts_sim.csv")
grouse <- read.csv("hglm/datasets/data/grouseticks.csv")
grouse$YEAR <- factor(grouse$YEAR)
ctrl <- glmmTMBControl(optCtrl = list(iter.max = 1e4, eval.max = 1e4))

rows <- list()
add <- function(model, quantity, name, value) {
  rows[[length(rows) + 1]] <<- data.frame(model = model, quantity = quantity, name = name,
                                          value = sprintf("%.10g", value))
}
record <- function(model, fit) {
  add(model, "loglik", "", as.numeric(logLik(fit)))
  for (part in c("cond", "disp", "zi")) {
    fe <- fixef(fit)[[part]]
    for (n in names(fe)) add(model, part, n, fe[[n]])
  }
  vc <- VarCorr(fit)$cond
  for (g in names(vc)) {
    s <- attr(vc[[g]], "stddev")
    for (n in names(s)) add(model, "sd", paste(g, n, sep = "|"), s[[n]])
    r <- attr(vc[[g]], "correlation")
    if (length(s) == 2) add(model, "cor", paste(g, paste(names(s), collapse = ":"), sep = "|"),
                            r[2, 1])
  }
}
record("gaussian_sigma_days", glmmTMB(Reaction ~ Days + (1 | Subject), sleep,
                                      dispformula = ~ Days, REML = FALSE, control = ctrl))
record("gaussian_sigma_days_slope", glmmTMB(Reaction ~ Days + (Days | Subject), sleep,
                                            dispformula = ~ Days, REML = FALSE,
                                            control = ctrl))
record("negbinomial_disp_year", glmmTMB(TICKS ~ YEAR + (1 | LOCATION), grouse,
                                        family = nbinom2, dispformula = ~ YEAR,
                                        control = ctrl))
record("zip_zi_x", glmmTMB(y ~ x + (1 | g), zi_sim, family = poisson, ziformula = ~ x,
                           control = ctrl))
write.csv(do.call(rbind, rows), "tests/reference/glmmtmb_distributional.csv",
          row.names = FALSE)
