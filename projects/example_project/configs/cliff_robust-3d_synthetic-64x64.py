_base_ = ['../../../configs/cliff/cliff_res18-tiny_synthetic-64x64.py']

custom_imports = dict(imports=['projects.example_project.models'], allow_failed_imports=False)

model = dict(
    head=dict(
        loss_keypoints_3d=dict(_delete_=True, type='RobustKeypoint3DLoss', sigma=0.1,
                               loss_weight=5.0)))
