# Ablation "w/o dynamic matching": the dense branch's positives are the pixels within 1.5
# pixels of each keypoint (FixedRadiusAssigner) instead of its minimum-cost pixel.
_base_ = ['./g2p_res18-tiny_synthetic-64x64.py']

model = dict(head=dict(dense=dict(assigner=dict(_delete_=True, type='FixedRadiusAssigner',
                                                radius=1.5))))
