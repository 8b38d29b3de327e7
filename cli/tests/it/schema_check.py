"""Validates TOML files against stepback.schema.json; prints `<file> <error count>` per file."""
import json
import sys
import tomllib

import jsonschema

validator = jsonschema.Draft7Validator(json.load(open(sys.argv[1])))
for path in sys.argv[2:]:
    with open(path, "rb") as file:
        print(path, len(list(validator.iter_errors(tomllib.load(file)))))
