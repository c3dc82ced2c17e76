"""Optional language-model summary: prompt over the article's passages, client, sentence verifier."""
