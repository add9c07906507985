"""GPU check only: a stand-in for xtcocotools, whose wheel is built against NumPy 1 while the
GPU machine's NumPy is 2. mmpose imports it at start-up for its COCO datasets, which mmhmr's
GPU checks never build."""
