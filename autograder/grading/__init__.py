"""`course grade`: sandboxed, checked, trained and reported grading of submissions."""
