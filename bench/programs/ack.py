import sys, threading
def ack(m, n):
    if m == 0:
        return n + 1
    if n == 0:
        return ack(m - 1, 1)
    return ack(m - 1, ack(m, n - 1))
def main():
    print(ack(3, 10))
sys.setrecursionlimit(1_000_000)
threading.stack_size(512 << 20)
t = threading.Thread(target=main); t.start(); t.join()
