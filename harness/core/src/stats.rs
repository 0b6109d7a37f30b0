//! Statistics for the regression gate and capacity search.
