import sys
sys.setrecursionlimit(10000)
def coin(k):
    return 1 if k == 1 else 5 if k == 2 else 10 if k == 3 else 25 if k == 4 else 50 if k == 5 else 100
def ways(amount, k):
    if amount == 0:
        return 1
    if amount < 0 or k == 0:
        return 0
    return ways(amount - coin(k), k) + ways(amount, k - 1)
print(ways(700, 6))
