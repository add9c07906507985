# The dual-network reference's settings (../shared/GUIDE.md section 2), for the configs in
# configs/meta_hmr/ that wrap a CLIFF config into a DualNetworkHMR:
#   model = dict(_delete_=True, type='DualNetworkHMR', main={{_base_.model}},
#                meta={{_base_.meta_step}}, inner_loss={{_base_.inner_loss}}, ...,
#                test_cfg=dict(reference_tto={{_base_.reference_tto}}))
# One inner SGD step of the head per sample at 1e-5, first order.
meta_step = dict(inner_lr=1e-5, inner_steps=1, first_order=True, adapt='head')
# The inner (test-time) loss: 5 x 2D + camera prior + f_u's pseudo-SMPL terms (TestTimeLoss's
# defaults), the 2D term on the 24 annotated joints of the SPIN/CLIFF files only (the first 25
# slots hold OpenPose detections, weighted 0 as in the supervised loss).
inner_loss = dict(
    type='TestTimeLoss',
    keypoints_2d=dict(type='KeypointReprojectionLoss', loss_weight=5.0,
                      keypoint_weights=[0.] * 25 + [1.] * 24))
# Test time: the reference's schedule (DualNetworkHMR's default, mmhmr.models.estimators.
# dual_network.reference_tto: the inner step on the head with the full inner loss, then up to 14
# Adam steps at 1e-5 of the 2D loss on every parameter, early stop at 2e-5), recording every
# step's errors; every parameter per sample with Adam's moments takes ~0.4 GB a sample for
# ResNet-50, ~1 GB for HRNet-W48: lower chunk_size if memory is short.
reference_tto = dict(record_steps=True, chunk_size=8)
