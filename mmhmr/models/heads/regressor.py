"""HMR's iterative error-feedback regressor of SMPL parameters and a crop camera."""
from typing import Callable, Dict, Optional, Sequence

import torch
from torch import Tensor, nn

# ``linear(layer, input) -> output``: how a Linear layer is applied (see forward)
LinearFn = Callable[[nn.Linear, Tensor], Tensor]


class IterativeSMPLRegressor(nn.Module):
    """Refine SMPL parameters by ``n_iter`` residual steps (HMR / SPIN / CLIFF).

    Each step feeds the features and the current estimate to a shared MLP, whose three
    decoders predict residuals of the 6D pose ``(144,)``, shape ``(10,)`` and camera ``(3,)``.
    The decoders start near zero (Xavier gain 0.01), so the first estimate is the mean.

    Args:
        in_channels (int): Channels of the input features.
        hidden_dims (Sequence[int]): Hidden layers of the shared MLP.
        n_iter (int): Refinement steps.
        dropout (float): Dropout after each hidden layer.
        init_params (dict): initial ``pose_6d (144,)``, ``betas (10,)``, ``cam (3,)``.
    """

    def __init__(self, in_channels: int, hidden_dims: Sequence[int], n_iter: int,
                 dropout: float, init_params: Dict[str, Tensor]):
        super().__init__()
        if n_iter < 1:
            raise ValueError(f'n_iter must be >= 1, got {n_iter}')
        self.n_iter = n_iter
        dims = dict(pose_6d=144, betas=10, cam=3)
        for name, dim in dims.items():
            if init_params[name].shape != (dim,):
                raise ValueError(f'initial {name} must have shape ({dim},), '
                                 f'got {tuple(init_params[name].shape)}')
            self.register_buffer(f'init_{name}', init_params[name].float())
        layers, prev = [], in_channels + sum(dims.values())
        for dim in hidden_dims:
            layers += [nn.Linear(prev, dim), nn.ReLU(), nn.Dropout(dropout)]
            prev = dim
        self.mlp = nn.Sequential(*layers)
        self.dec_pose = nn.Linear(prev, 144)
        self.dec_betas = nn.Linear(prev, 10)
        self.dec_cam = nn.Linear(prev, 3)
        for dec in (self.dec_pose, self.dec_betas, self.dec_cam):
            nn.init.xavier_uniform_(dec.weight, gain=0.01)
            nn.init.zeros_(dec.bias)

    def forward(self, x: Tensor, linear: Optional[LinearFn] = None) -> Dict[str, Tensor]:
        """
        Args:
            x (Tensor): ``(B, C)`` features.
            linear (callable, optional): ``linear(layer, input) -> output``, called instead of
                each ``nn.Linear`` layer (test-time optimization applies per-sample weights
                through it); ``None`` calls the layers.

        Returns:
            dict: ``pose_6d (B, 144)``, ``betas (B, 10)``, ``pred_cam (B, 3)``.
        """
        apply = linear if linear is not None else (lambda layer, inp: layer(inp))
        b = x.shape[0]
        pose = self.init_pose_6d.expand(b, -1)
        betas = self.init_betas.expand(b, -1)
        cam = self.init_cam.expand(b, -1)
        for _ in range(self.n_iter):
            h = torch.cat([x, pose, betas, cam], dim=1)
            for layer in self.mlp:
                h = apply(layer, h) if isinstance(layer, nn.Linear) else layer(h)
            pose = pose + apply(self.dec_pose, h)
            betas = betas + apply(self.dec_betas, h)
            cam = cam + apply(self.dec_cam, h)
        return dict(pose_6d=pose, betas=betas, pred_cam=cam)
