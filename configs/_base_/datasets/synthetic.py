# The embedded synthetic data: rendered procedural bodies with full SMPL ground truth.
# Nothing licensed is needed; the body model is generated into data/body_models/procedural.
dataset_type = 'SyntheticHumanDataset'
body_model_dir = 'data/body_models/procedural'
# Rendered samples are cached here (PNG + npz per sample) on first use, so later epochs and
# later runs only read them. None renders every sample every time.
cache_dir = 'data/cache/synthetic'
# The 'train' domain (see mmhmr/datasets/synthetic/domain.py), rendered at 160x160: the person
# box is then about the size of the network input.
domain = dict(preset='train', image_size=(160, 160))
# Neutral bodies only: CLIFF's head fits the neutral model (as SPIN and CLIFF do), and a male or
# female body's joints differ from the neutral model's by several cm, which a small model trained
# for minutes cannot absorb. ('neutral', 'male', 'female') gives 3DPW-like gendered ground truth.
genders = ('neutral', )
input_size = (64, 64)  # (W, H) of the network input

train_pipeline = [
    dict(type='HMRLoadImage'),
    # no flip: the synthetic bodies colour left and right differently, a flip would swap the cue
    dict(type='HMRRandomBBoxTransform', scale_factor=(0.85, 1.15), rotate_factor=20,
         rotate_prob=0.3, shift_factor=0.05, shift_prob=0.3),
    dict(type='HMRTopdownAffine', input_size=input_size),
    dict(type='PhotometricDistortion'),
    dict(type='CLIFFBBoxInfo'),
    dict(type='PackHMRInputs'),
]
test_pipeline = [
    dict(type='HMRLoadImage'),
    dict(type='HMRTopdownAffine', input_size=input_size),
    dict(type='CLIFFBBoxInfo'),
    dict(type='PackHMRInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, num_samples=3000, seed=0, domain=domain,
        body_model=dict(model_dir=body_model_dir, seed=0), genders=genders,
        cache_dir=cache_dir, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, num_samples=320, seed=1, domain=domain,
        body_model=dict(model_dir=body_model_dir, seed=0), genders=genders,
        cache_dir=cache_dir, pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='SMPLMetric', protocol='3dpw',
    body_model=dict(type='ProceduralGenderedSMPL', model_path=body_model_dir,
                    joint_set='h36m_17'))
test_evaluator = val_evaluator
