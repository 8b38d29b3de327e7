# The bench's generator (compiler/benches/compile.rs, workflow_source) in Python, to write its workflow of N steps
# to a file that `stepback plan` reads. Usage: python3 compiler/benches/generate.py N > generated-N.toml (BENCHMARKS.md, issue 23)
import sys
M = (1 << 64) - 1
class Rng:
    def __init__(self, s): self.s = s
    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)
    def below(self, n): return self.next() % max(n, 1)
n = int(sys.argv[1]); rng = Rng(n)
out = 'version = 1\nname = "generated"\n\n[input]\nflag = { type = "bool", default = false }\n\n[defaults]\nretry = { attempts = 0 }\n\n'
for i in range(n):
    out += f"[steps.s{i}]\n"
    if i > 0:
        after = sorted(set(i - 1 - rng.below(min(i, 8)) for _ in range(1 + rng.below(3))))
        out += "after = [" + ", ".join(f'"s{a}"' for a in after) + "]\n"
    r = rng.below(10)
    if r == 0:
        out += 'action = "check.http"\nurl = "https://example.com/health"\ntimeout = "2m"\n'
    elif r <= 3:
        out += f'action = "notify"\ntopic = "arn:aws:sns:us-east-1:123456789012:t"\nmessage = "step {i} of ${{execution.name}}"\n'
    else:
        out += f'action = "wait"\nduration = "{1 + rng.below(60)}s"\n'
    if rng.below(8) == 0:
        out += 'when = "input.flag"\n'
    out += "\n"
sys.stdout.write(out)
