CASES = []
def build_all():
    return []
