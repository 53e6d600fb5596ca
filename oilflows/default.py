def load_default(): raise NotImplementedError
