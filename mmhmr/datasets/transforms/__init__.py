from .cliff_bbox_info import CLIFFBBoxInfo
from .formatting import PackHMRInputs
from .hmr_affine import HMRTopdownAffine
from .hmr_bbox_transform import HMRRandomBBoxTransform
from .hmr_flip import HMRRandomFlip
from .loading import HMRLoadImage
from .simulate_detections import SimulateKeypointDetections

__all__ = [
    'HMRLoadImage', 'HMRRandomFlip', 'HMRRandomBBoxTransform', 'HMRTopdownAffine',
    'CLIFFBBoxInfo', 'SimulateKeypointDetections', 'PackHMRInputs'
]
