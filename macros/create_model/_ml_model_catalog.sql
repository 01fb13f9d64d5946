{#- What BigQuery ML accepts in CREATE MODEL OPTIONS, kept in one place so a typo in a model's
    ml_config fails that model at build time instead of as a BigQuery job error (or not at all
    locally). Source: the CREATE MODEL reference pages of every model type. -#}
{% macro _ml_model_catalog() %}
    {%- set supervised = [
        'linear_reg', 'logistic_reg',
        'boosted_tree_classifier', 'boosted_tree_regressor',
        'random_forest_classifier', 'random_forest_regressor',
        'dnn_classifier', 'dnn_regressor',
        'dnn_linear_combined_classifier', 'dnn_linear_combined_regressor',
        'automl_classifier', 'automl_regressor',
    ] -%}
    {%- set unsupervised = [
        'kmeans', 'matrix_factorization', 'pca', 'autoencoder',
        'arima_plus', 'arima_plus_xreg', 'contribution_analysis', 'transform_only',
        'tensorflow', 'tensorflow_lite', 'onnx', 'xgboost',
    ] -%}
    {%- set options = [
        'model_type', 'input_label_cols', 'kms_key_name',
        'model_registry', 'vertex_ai_model_id', 'vertex_ai_model_version_aliases',
        'data_split_method', 'data_split_eval_fraction', 'data_split_test_fraction', 'data_split_col',
        'instance_weight_col',
        'optimize_strategy', 'learn_rate_strategy', 'learn_rate', 'ls_init_learn_rate',
        'l1_reg', 'l2_reg', 'max_iterations', 'early_stop', 'min_rel_progress', 'warm_start',
        'fit_intercept', 'calculate_p_values', 'category_encoding_method',
        'auto_class_weights', 'class_weights', 'enable_global_explain',
        'num_trials', 'max_parallel_trials', 'hparam_tuning_algorithm', 'hparam_tuning_objectives',
        'num_clusters', 'kmeans_init_method', 'kmeans_init_col', 'distance_type', 'standardize_features',
        'booster_type', 'num_parallel_tree', 'dart_normalize_type', 'tree_method',
        'min_tree_child_weight', 'colsample_bytree', 'colsample_bylevel', 'colsample_bynode',
        'min_split_loss', 'max_tree_depth', 'subsample', 'xgboost_version',
        'approx_global_feature_contrib',
        'activation_fn', 'batch_size', 'dropout', 'hidden_units', 'optimizer', 'tf_version',
        'integrated_gradients_num_steps',
        'budget_hours', 'optimization_objective',
        'feedback_type', 'num_factors', 'user_col', 'item_col', 'rating_col', 'wals_alpha',
        'num_principal_components', 'pca_explained_variance_ratio', 'scale_features', 'pca_solver',
        'time_series_timestamp_col', 'time_series_data_col', 'time_series_id_col', 'horizon',
        'auto_arima', 'auto_arima_max_order', 'auto_arima_min_order', 'non_seasonal_order',
        'data_frequency', 'include_drift', 'holiday_region', 'clean_spikes_and_dips',
        'adjust_step_changes', 'decompose_time_series', 'trend_smoothing_window_size',
        'forecast_limit_lower_bound', 'forecast_limit_upper_bound', 'hierarchical_time_series_cols',
        'time_series_length_fraction', 'min_time_series_length', 'max_time_series_length',
        'contribution_metric', 'dimension_id_cols', 'is_test_col', 'min_apriori_support',
        'top_k_insights_by_apriori_support', 'pruning_method',
        'model_path', 'endpoint', 'remote_service_type',
    ] -%}
    {{ return({'supervised': supervised, 'unsupervised': unsupervised, 'options': options}) }}
{% endmacro %}
