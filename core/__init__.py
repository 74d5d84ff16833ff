"""Infrastructure every package may use: SQL base and engine, private files, input bounds,
identity numbers, CSV safety, page words and MQTT URLs. Imports no package of ours."""
